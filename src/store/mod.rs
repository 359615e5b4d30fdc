//! The history of a run as the UI and the exporters see it: metric series, markers, config, outcome.
//!
//! Pure data (no UI types): the app's plots borrow from it, the CSV exporter writes from it, and
//! [`decimate`] thins long series for drawing.

pub mod capacity;
pub mod compare;
pub mod decimate;
pub mod files;
pub mod history;
pub mod insight;
pub mod ordering;
pub mod ordering_layout;
pub mod phase;
pub mod pyramid;
pub mod run_dir;
pub mod study_dir;
pub mod sweep_dir;
pub mod tensorboard;
pub mod thin;

pub use decimate::{decimate_min_max, visible_range};
pub use history::{Marker, MarkerKind, Point, RunHistory, SeriesTable};
pub use ordering::{OrderingHistory, SettingStats, StudyHistory};
pub use pyramid::MinMaxPyramid;
