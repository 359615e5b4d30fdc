//! The save-file, open-file and folder dialogs behind a trait, so tests never open a real one.

use std::path::PathBuf;

/// Asks the user where to save. Called on a spawned thread, never on the UI thread: a real dialog
/// blocks its caller until answered.
pub trait FileDialog: Send + Sync {
    /// The chosen path, or `None` when cancelled or when no dialog could be shown.
    fn save(&self, title: &str, default_name: &str, ext: &str) -> Option<PathBuf>;
    /// A chosen folder (to save a run into, or to open one), or `None` as for [`FileDialog::save`].
    fn pick_folder(&self, title: &str) -> Option<PathBuf>;
    /// A chosen file to open (a lesson, a scene), or `None` as for [`FileDialog::save`].
    fn pick_file(&self, title: &str, ext: &str) -> Option<PathBuf>;
}

/// The desktop's dialog through `rfd` (XDG portal). Without a portal it returns `None` at once.
#[derive(Clone, Copy, Debug, Default)]
pub struct RfdDialog;

impl FileDialog for RfdDialog {
    fn save(&self, title: &str, default_name: &str, ext: &str) -> Option<PathBuf> {
        rfd::FileDialog::new()
            .set_title(title)
            .set_file_name(default_name)
            .add_filter(ext.to_uppercase(), &[ext])
            .save_file()
    }

    fn pick_folder(&self, title: &str) -> Option<PathBuf> {
        rfd::FileDialog::new().set_title(title).pick_folder()
    }

    fn pick_file(&self, title: &str, ext: &str) -> Option<PathBuf> {
        rfd::FileDialog::new()
            .set_title(title)
            .add_filter(ext.to_uppercase(), &[ext])
            .pick_file()
    }
}

/// Always answers with the same path (or `None`): for tests and scripted use.
#[derive(Clone, Debug, Default)]
pub struct FixedPathDialog(pub Option<PathBuf>);

impl FileDialog for FixedPathDialog {
    fn save(&self, _title: &str, _default_name: &str, _ext: &str) -> Option<PathBuf> {
        self.0.clone()
    }

    fn pick_folder(&self, _title: &str) -> Option<PathBuf> {
        self.0.clone()
    }

    fn pick_file(&self, _title: &str, _ext: &str) -> Option<PathBuf> {
        self.0.clone()
    }
}
