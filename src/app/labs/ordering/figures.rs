//! The Ordering lab's figures for the Export figure window.

use crate::app::figure_export::FigureSet;
use crate::export::labs;
use crate::protocol::LayerSnapshot;
use crate::store::{OrderingHistory, StudyHistory};

/// The Ordering lab's figures: the single run's three plots (when it has data), the neuron-ordering
/// graph and the permuted weight heatmap of `layer` (the snapshot the tab shows, and whether its
/// graph draws the outputs last), and the study's figure (when a study has results).
pub fn ordering_set(
    run: &OrderingHistory,
    study: &StudyHistory,
    layer: Option<(&LayerSnapshot, bool)>,
) -> FigureSet {
    let mut set = FigureSet::default();
    let mut configs = serde_json::Map::new();
    if run.has_data() {
        set.figures.extend(labs::history_figures(
            &labs::ORDERING_RUN_PLOTS,
            "",
            run.metrics(),
            false,
        ));
        if let Some((s, outputs_last)) = layer {
            set.figures
                .extend(crate::export::layer::layer_figures(s, outputs_last));
        }
        configs.insert(
            "run".into(),
            serde_json::to_value(run.config()).unwrap_or_default(),
        );
    }
    if let Some(cfg) = study.config()
        && study.stats().iter().any(|s| s.runs > 0)
    {
        set.figures.extend(labs::ordering_study_figures(
            cfg.kind,
            &cfg.base.task.to_string(),
            study.stats(),
        ));
        configs.insert(
            "study".into(),
            serde_json::to_value(cfg).unwrap_or_default(),
        );
    }
    set.config = serde_json::Value::Object(configs);
    set
}
