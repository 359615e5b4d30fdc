//! Work the UI thread must not wait for: file dialogs and file writes, each on a named thread.
//! Results come back over a bounded channel and wake the UI.

use super::actions::ExportKind;
use super::dialog::FileDialog;
use crate::export::png::RgbaPicture;
use crate::store::SeriesTable;
use crossbeam_channel::{Receiver, Sender, bounded};
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// A result coming back to the UI thread.
#[derive(Debug)]
pub enum JobDone {
    /// The dialog closed with a path, or `None` (cancelled, or no dialog available).
    Chosen {
        kind: ExportKind,
        path: Option<PathBuf>,
    },
    /// A screenshot was cropped to the plots (or could not be).
    Captured {
        path: PathBuf,
        picture: Result<RgbaPicture, String>,
    },
    /// A file was written (or not).
    Written {
        kind: ExportKind,
        path: PathBuf,
        result: Result<(), String>,
    },
}

/// Owns the background threads; results arrive through [`Jobs::try_recv`].
pub struct Jobs {
    tx: Sender<JobDone>,
    rx: Receiver<JobDone>,
    wake: Arc<dyn Fn() + Send + Sync>,
    dialogs: Vec<JoinHandle<()>>,
    writers: Vec<JoinHandle<()>>,
}

impl Jobs {
    /// `wake` is called after each result is sent (the app passes `request_repaint`).
    pub fn new(wake: Arc<dyn Fn() + Send + Sync>) -> Self {
        let (tx, rx) = bounded(64);
        Self {
            tx,
            rx,
            wake,
            dialogs: Vec::new(),
            writers: Vec::new(),
        }
    }

    /// A sender for results produced elsewhere (the screenshot callback).
    pub fn sender(&self) -> JobSender {
        JobSender {
            tx: self.tx.clone(),
            wake: Arc::clone(&self.wake),
        }
    }

    /// Whether a dialog is still open.
    pub fn dialog_open(&self) -> bool {
        self.dialogs.iter().any(|h| !h.is_finished())
    }

    /// Whether a file is being written.
    pub fn writing(&self) -> bool {
        self.writers.iter().any(|h| !h.is_finished())
    }

    /// Ask `dialog` for a path on a new thread.
    pub fn choose_path(
        &mut self,
        dialog: Arc<dyn FileDialog>,
        kind: ExportKind,
    ) -> std::io::Result<()> {
        let out = self.sender();
        let handle = std::thread::Builder::new()
            .name("file-dialog".into())
            .spawn(move || {
                let title = format!("Export {kind}");
                let path = dialog.save(&title, kind.default_name(), kind.ext());
                out.send(JobDone::Chosen { kind, path });
            })?;
        self.dialogs.push(handle);
        Ok(())
    }

    /// Write `table` as CSV to `path` on a new thread.
    pub fn write_csv(&mut self, path: PathBuf, table: SeriesTable) -> std::io::Result<()> {
        let out = self.sender();
        let handle = std::thread::Builder::new()
            .name("export-csv".into())
            .spawn(move || {
                let result =
                    crate::export::csv::write_csv(&path, &table).map_err(|e| format!("{e:#}"));
                out.send(JobDone::Written {
                    kind: ExportKind::Csv,
                    path,
                    result,
                });
            })?;
        self.writers.push(handle);
        Ok(())
    }

    /// Encode `picture` as PNG into `path` on a new thread.
    pub fn write_png(&mut self, path: PathBuf, picture: RgbaPicture) -> std::io::Result<()> {
        let out = self.sender();
        let handle = std::thread::Builder::new()
            .name("export-png".into())
            .spawn(move || {
                let result =
                    crate::export::png::write_png(&path, &picture).map_err(|e| format!("{e:#}"));
                out.send(JobDone::Written {
                    kind: ExportKind::Png,
                    path,
                    result,
                });
            })?;
        self.writers.push(handle);
        Ok(())
    }

    /// The next result, if any; also joins threads that have ended.
    pub fn try_recv(&mut self) -> Option<JobDone> {
        reap(&mut self.dialogs);
        reap(&mut self.writers);
        self.rx.try_recv().ok()
    }
}

fn reap(handles: &mut Vec<JoinHandle<()>>) {
    let (done, running): (Vec<_>, Vec<_>) = handles.drain(..).partition(|h| h.is_finished());
    for h in done {
        // A panic in a job thread was already reported as a missing result; nothing more to do.
        let _ = h.join();
    }
    *handles = running;
}

impl Drop for Jobs {
    fn drop(&mut self) {
        // Let writes finish (draining results so no writer blocks on a full channel).
        while self.writers.iter().any(|h| !h.is_finished()) {
            while self.rx.try_recv().is_ok() {}
            std::thread::sleep(Duration::from_millis(5));
        }
        reap(&mut self.writers);
        reap(&mut self.dialogs);
        // A dialog still open waits on the user and cannot be interrupted; its thread ends when the
        // dialog does (or with the process), and its result is dropped with the channel.
    }
}

/// Sends a result to the UI and wakes it.
#[derive(Clone)]
pub struct JobSender {
    tx: Sender<JobDone>,
    wake: Arc<dyn Fn() + Send + Sync>,
}

impl JobSender {
    pub fn send(&self, done: JobDone) {
        // The UI drains every frame; if it is gone (closing), the result has no one to go to.
        let _ = self.tx.send_timeout(done, Duration::from_secs(5));
        (self.wake)();
    }
}
