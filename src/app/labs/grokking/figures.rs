//! The Grokking lab's figures for the Export figure window: the plots of the run shown, and the
//! insight views at the shown step.

use crate::app::figure_export::FigureSet;
use crate::export::{insight, labs};
use crate::protocol::{InsightSnapshot, Metric};
use crate::store::RunHistory;
use crate::store::insight::InsightStore;

/// The Grokking lab's four figures from the run shown (the plots' store and step axis).
pub fn grokking_set(history: &RunHistory, log_x: bool) -> FigureSet {
    if history.row_count() == 0 {
        return FigureSet::default();
    }
    FigureSet {
        figures: labs::history_figures(&labs::GROKKING_PLOTS, "", history, log_x),
        config: serde_json::to_value(history.config()).unwrap_or_default(),
    }
}

/// Add the Grokking lab's insight figures at the shown snapshot `snap` to `set`: `store` holds the
/// run's snapshots (the spectrum's history, the ablation curves), `history` its logged losses and its
/// config (the split of the answer grid). The ablation figure draws the final model's keys' curves
/// when the store has them, unless `own_keys` (as the loss plot). When the views show another run
/// than the plots (`other_run`), the JSON sidecar holds both configs (`plots`, `insight_views`). A
/// snapshot whose parts do not fit together adds no figure.
pub fn add_insight_figures(
    set: &mut FigureSet,
    snap: Option<&InsightSnapshot>,
    store: &InsightStore,
    history: &RunHistory,
    other_run: bool,
    own_keys: bool,
) {
    let Some(snap) = snap else { return };
    let split = history
        .config()
        .map(crate::analysis::insight::run_split)
        .unwrap_or_default();
    let losses = |m: Metric| labs::history_points(history, m);
    let milestones = labs::history_markers(history.markers());
    let Ok(figures) = insight::insight_figures(&insight::InsightInput {
        snap,
        split: &split,
        history: store.all(),
        losses: &losses,
        final_keys: if own_keys { &[] } else { &store.final_keys },
        milestones: &milestones,
    }) else {
        return;
    };
    set.figures.extend(figures);
    let views = serde_json::to_value(history.config()).unwrap_or_default();
    if set.config.is_null() {
        set.config = views;
    } else if other_run {
        set.config = serde_json::json!({ "plots": set.config.take(), "insight_views": views });
    }
}
