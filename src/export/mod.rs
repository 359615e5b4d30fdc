//! Writing what the app shows to files: the plotted series as CSV, a captured picture as PNG, and
//! figures for papers ([`figure`], drawn as SVG by [`svg`], written as PNG/SVG/PDF with CSV and JSON
//! sidecars by [`render`], built for each lab by [`labs`]).
//!
//! No UI types here: the app hands over plain data (a [`crate::store::SeriesTable`], an RGBA buffer,
//! a [`figure::Figure`]).
//! Files are written atomically: to a temporary name beside the target, then renamed.

pub mod compare;
pub mod csv;
pub mod figure;
pub mod insight;
pub mod labs;
pub mod layer;
mod layer_svg;
pub mod png;
pub mod render;
pub mod svg;

/// A heatmap value's colour on paper, for the window to check its own against.
pub use layer_svg::heat_rgb;

use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Creating, writing or renaming the file failed.
    #[error("cannot write {}: {error}", path.display())]
    Io {
        path: PathBuf,
        /// (in the message, not a `source`: `{:#}` would print it twice)
        error: io::Error,
    },
    /// The CSV writer failed.
    #[error("CSV: {0}")]
    Csv(#[from] ::csv::Error),
    /// The PNG encoder failed.
    #[error("PNG: {0}")]
    Png(#[from] image::ImageError),
    /// The PNG encoder (with a resolution) failed.
    #[error("PNG: {0}")]
    PngEncode(#[from] ::png::EncodingError),
    /// The pixel buffer does not match its stated size.
    #[error("image of {width}x{height} needs {expected} bytes of RGBA, got {actual}")]
    BadBuffer {
        width: u32,
        height: u32,
        expected: usize,
        actual: usize,
    },
    /// Nothing to write (an empty picture).
    #[error("nothing to export: {0}")]
    Empty(&'static str),
    /// A figure's settings or output path cannot be used (size, DPI, a missing folder).
    #[error("{0}")]
    Invalid(String),
    /// Drawing a figure's SVG as PNG or PDF failed.
    #[error("rendering: {0}")]
    Render(String),
}

/// Write a file atomically through the store's writer ([`crate::store::files::write_atomically`]),
/// reporting I/O failures with the path.
pub(crate) fn write_atomically(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> Result<(), ExportError>,
) -> Result<(), ExportError> {
    crate::store::files::write_atomically(path, fill, |source| ExportError::Io {
        path: path.to_path_buf(),
        error: source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn failed_fill_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        let err = write_atomically(&path, |_| Err(ExportError::Empty("test"))).unwrap_err();
        assert!(matches!(err, ExportError::Empty(_)));
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn missing_directory_is_an_io_error_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no/such/dir/out.csv");
        let err = write_atomically(&path, |w| {
            w.write_all(b"x").map_err(|_| ExportError::Empty("x"))
        })
        .unwrap_err();
        assert!(err.to_string().contains("out.csv"), "{err}");
    }
}
