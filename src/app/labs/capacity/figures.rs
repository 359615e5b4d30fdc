//! The Capacity lab's figures for the Export figure window.

use crate::app::figure_export::FigureSet;
use crate::export::labs;
use crate::store::capacity::SweepHistory;

/// The Capacity lab's five figures from the sweep shown.
pub fn capacity_set(sweep: &SweepHistory) -> FigureSet {
    if sweep.results().is_empty() {
        return FigureSet::default();
    }
    FigureSet {
        figures: labs::capacity_figures(sweep.results(), &sweep.trained_here(), sweep.analysis()),
        config: serde_json::to_value(sweep.config()).unwrap_or_default(),
    }
}
