//! The Grokking lab's config panel.

use crate::app::actions::Action;
use crate::app::widgets::form::{
    error_color, group_digits, live_badge, preset_picker_ui, row, sci_value, section,
};
use crate::config::{
    Activation, Combine, FieldProblem, GrokkingConfig, MlpConfig, ModelConfig, Operation, Preset,
    TransformerConfig,
};
use crate::protocol::HyperChange;
use eframe::egui::{self, DragValue, RichText, Ui};

/// What the panel needs besides the config it edits.
pub struct ConfigPanel<'a> {
    pub presets: &'a [Preset],
    /// Index of the preset last loaded.
    pub preset: usize,
    /// A run is starting, running or paused: only live settings may change.
    pub run_active: bool,
    /// Problems `validate()` found in the edited config.
    pub problems: &'a [FieldProblem],
    /// The last run's settings changed mid-run ("changed wd → 0 from step 400") and its config as
    /// it started, when no run is active and the panel still holds the values it ended with.
    pub changed_run: Option<(Vec<String>, &'a GrokkingConfig)>,
}

/// The whole config panel. Edits `cfg` in place; returns a preset choice or a live change.
pub fn config_ui(ui: &mut Ui, cfg: &mut GrokkingConfig, panel: &ConfigPanel<'_>) -> Action {
    let mut action = Action::None;
    ui.add_space(4.0);
    ui.heading("Grokking lab");
    ui.label(
        RichText::new("modular arithmetic: memorise first, generalise later")
            .small()
            .weak(),
    );
    ui.add_space(4.0);

    ui.add_enabled_ui(!panel.run_active, |ui| {
        action = action.clone().or(preset_ui(ui, cfg, panel));
    });
    crate::app::widgets::form::run_state_line(ui, panel.run_active);
    if let Some((changes, start)) = &panel.changed_run {
        changed_run_ui(ui, cfg, changes, start);
    }
    ui.separator();

    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show(ui, |ui| {
            ui.add_enabled_ui(!panel.run_active, |ui| {
                section(ui, "Task", |ui| task_ui(ui, cfg, panel.problems));
                section(ui, "Model", |ui| model_ui(ui, cfg, panel));
            });
            section(ui, "Optimiser (AdamW)", |ui| {
                action = action.clone().or(optim_ui(ui, cfg, panel));
            });
            ui.add_enabled_ui(!panel.run_active, |ui| {
                section(ui, "Training", |ui| training_ui(ui, cfg, panel.problems));
            });
            if !panel.problems.is_empty() {
                ui.add_space(6.0);
                ui.label(RichText::new("Problems").strong().color(error_color(ui)));
                for p in panel.problems {
                    ui.label(
                        RichText::new(format!("{}: {}", p.field, p.message)).color(error_color(ui)),
                    );
                }
            }
        });
    action
}

/// A run that changed settings mid-run leaves the panel with the values it ended with: say so, since
/// the next Start trains them from step 0, and offer the run's own starting values (a researcher's
/// audit, L1: the changed weight decay stayed for the next run unannounced).
fn changed_run_ui(
    ui: &mut Ui,
    cfg: &mut GrokkingConfig,
    changes: &[String],
    start: &GrokkingConfig,
) {
    ui.label(
        RichText::new(format!(
            "The last run {}; the panel keeps the values it ended with, so Start trains them \
             from step 0.",
            changes.join(", ")
        ))
        .small(),
    );
    if ui
        .small_button("Use the run's starting values")
        .on_hover_text("Put the settings the last run started with back in the panel")
        .clicked()
    {
        *cfg = start.clone();
    }
}

fn preset_ui(ui: &mut Ui, cfg: &GrokkingConfig, panel: &ConfigPanel<'_>) -> Action {
    let current = panel.presets.get(panel.preset);
    let edited = current.is_some_and(|p| p.config != *cfg);
    let items: Vec<(&str, &str)> = panel
        .presets
        .iter()
        .map(|p| (p.title, p.description))
        .collect();
    preset_picker_ui(ui, "preset", &items, panel.preset, edited)
}

fn task_ui(ui: &mut Ui, cfg: &mut GrokkingConfig, problems: &[FieldProblem]) {
    row(ui, "operation", "op", problems, |ui| {
        egui::ComboBox::from_id_salt("op")
            .selected_text(format!("a {} b mod p", cfg.op))
            .show_ui(ui, |ui| {
                for op in Operation::ALL {
                    ui.selectable_value(&mut cfg.op, op, format!("a {op} b mod p"));
                }
            })
            .response
    });
    row(ui, "p (prime)", "p", problems, |ui| {
        ui.add(DragValue::new(&mut cfg.p).speed(0.2))
    });
    row(ui, "train fraction", "train_fraction", problems, |ui| {
        ui.add(
            DragValue::new(&mut cfg.train_fraction)
                .speed(0.005)
                .max_decimals(3),
        )
    });
    ui.label("examples");
    ui.label(RichText::new(examples_text(cfg)).weak());
    ui.end_row();
}

fn examples_text(cfg: &GrokkingConfig) -> String {
    if cfg.p < 2 || cfg.p > crate::config::MAX_P {
        return "—".into();
    }
    let n = cfg.dataset_size();
    format!("{n} ({} train)", cfg.train_size().min(n))
}

/// The default model of each kind: the first preset's model of that kind.
fn default_model(presets: &[Preset], transformer: bool) -> ModelConfig {
    presets
        .iter()
        .map(|p| &p.config.model)
        .find(|m| matches!(m, ModelConfig::Transformer(_)) == transformer)
        .cloned()
        .unwrap_or(if transformer {
            ModelConfig::Transformer(TransformerConfig {
                d_model: 32,
                depth: 2,
                heads: 1,
                dropout: 0.0,
                init_scale: 1.0,
                device: Default::default(),
            })
        } else {
            ModelConfig::Mlp(MlpConfig {
                embed_dim: 32,
                hidden: 128,
                activation: Activation::Relu,
                combine: Combine::Concat,
                init_scale: 1.0,
            })
        })
}

fn model_ui(ui: &mut Ui, cfg: &mut GrokkingConfig, panel: &ConfigPanel<'_>) {
    let problems = panel.problems;
    let is_transformer = matches!(cfg.model, ModelConfig::Transformer(_));
    row(ui, "kind", "model", problems, |ui| {
        let mut want_transformer = is_transformer;
        let a = ui.radio_value(&mut want_transformer, false, "MLP");
        let b = ui.radio_value(&mut want_transformer, true, "Transformer");
        if want_transformer != is_transformer {
            cfg.model = default_model(panel.presets, want_transformer);
        }
        a | b
    });
    match &mut cfg.model {
        ModelConfig::Mlp(m) => {
            row(ui, "embed dim", "model.embed_dim", problems, |ui| {
                ui.add(DragValue::new(&mut m.embed_dim).speed(0.5))
            });
            row(ui, "hidden", "model.hidden", problems, |ui| {
                ui.add(DragValue::new(&mut m.hidden).speed(1.0))
            });
            row(ui, "activation", "model.activation", problems, |ui| {
                let a = ui.radio_value(
                    &mut m.activation,
                    Activation::Relu,
                    Activation::Relu.to_string(),
                );
                let b = ui.radio_value(
                    &mut m.activation,
                    Activation::Square,
                    Activation::Square.to_string(),
                );
                a | b
            });
            row(ui, "combine", "model.combine", problems, |ui| {
                let a =
                    ui.radio_value(&mut m.combine, Combine::Concat, Combine::Concat.to_string());
                let b = ui.radio_value(&mut m.combine, Combine::Sum, Combine::Sum.to_string());
                a | b
            });
            row(ui, "init scale", "model.init_scale", problems, |ui| {
                ui.add(
                    DragValue::new(&mut m.init_scale)
                        .speed(0.01)
                        .max_decimals(3),
                )
            });
        }
        ModelConfig::Transformer(t) => {
            row(ui, "d_model", "model.d_model", problems, |ui| {
                ui.add(DragValue::new(&mut t.d_model).speed(0.5))
            });
            row(ui, "depth", "model.depth", problems, |ui| {
                ui.add(DragValue::new(&mut t.depth).speed(0.05))
            });
            row(ui, "heads", "model.heads", problems, |ui| {
                ui.add(DragValue::new(&mut t.heads).speed(0.05))
            });
            row(ui, "dropout", "model.dropout", problems, |ui| {
                ui.add(DragValue::new(&mut t.dropout).speed(0.005).max_decimals(3))
            });
            row(ui, "init scale", "model.init_scale", problems, |ui| {
                ui.add(
                    DragValue::new(&mut t.init_scale)
                        .speed(0.01)
                        .max_decimals(3),
                )
            });
        }
    }
    ui.label("parameters");
    let text = if cfg.p <= crate::config::MAX_P {
        group_digits(cfg.model.param_count(cfg.p as usize))
    } else {
        "—".into()
    };
    ui.label(RichText::new(text).weak());
    ui.end_row();
}

/// A live field: while a run is active a committed edit becomes a `Change` action.
fn live_row(
    ui: &mut Ui,
    label: &str,
    field: &str,
    value: &mut f64,
    make: fn(f64) -> HyperChange,
    panel: &ConfigPanel<'_>,
) -> Action {
    let before = *value;
    let r = row(ui, label, field, panel.problems, |ui| {
        let r = ui.add(sci_value(value));
        live_badge(ui);
        r
    });
    let committed = (r.changed() && !r.dragged()) || r.drag_stopped();
    if panel.run_active && committed && (*value != before || r.drag_stopped()) {
        Action::Change(make(*value))
    } else {
        Action::None
    }
}

fn optim_ui(ui: &mut Ui, cfg: &mut GrokkingConfig, panel: &ConfigPanel<'_>) -> Action {
    let problems = panel.problems;
    let mut action = live_row(
        ui,
        "learning rate",
        "optim.lr",
        &mut cfg.optim.lr,
        HyperChange::Lr,
        panel,
    );
    action = action.or(live_row(
        ui,
        "weight decay",
        "optim.weight_decay",
        &mut cfg.optim.weight_decay,
        HyperChange::WeightDecay,
        panel,
    ));
    let enabled = !panel.run_active;
    let o = &mut cfg.optim;
    row(ui, "beta1", "optim.beta1", problems, |ui| {
        ui.add_enabled(
            enabled,
            DragValue::new(&mut o.beta1).speed(0.001).max_decimals(4),
        )
    });
    row(ui, "beta2", "optim.beta2", problems, |ui| {
        ui.add_enabled(
            enabled,
            DragValue::new(&mut o.beta2).speed(0.001).max_decimals(4),
        )
    });
    row(ui, "eps", "optim.eps", problems, |ui| {
        ui.add_enabled(enabled, sci_value(&mut o.eps))
    });
    row(ui, "warm-up steps", "optim.warmup_steps", problems, |ui| {
        ui.add_enabled(enabled, DragValue::new(&mut o.warmup_steps).speed(0.5))
    });
    action
}

fn training_ui(ui: &mut Ui, cfg: &mut GrokkingConfig, problems: &[FieldProblem]) {
    row(ui, "full batch", "full_batch", problems, |ui| {
        ui.checkbox(&mut cfg.full_batch, "one step per epoch")
    });
    let full = cfg.full_batch;
    row(ui, "batch size", "batch_size", problems, |ui| {
        ui.add_enabled(!full, DragValue::new(&mut cfg.batch_size).speed(2.0))
    });
    row(ui, "seed", "seed", problems, |ui| {
        ui.add(DragValue::new(&mut cfg.seed).speed(0.2))
    });
    row(ui, "epoch cap", "max_epochs", problems, |ui| {
        ui.add(DragValue::new(&mut cfg.max_epochs).speed(10.0))
    });
    row(
        ui,
        "eval every (epochs)",
        "eval_every_epochs",
        problems,
        |ui| ui.add(DragValue::new(&mut cfg.eval_every_epochs).speed(0.1)),
    );
    row(ui, "early stop", "early_stop", problems, |ui| {
        ui.checkbox(&mut cfg.early_stop, "at 99 % accuracy")
            .on_hover_text("End the run once train and validation accuracy are both at least 99 %")
    });
}
