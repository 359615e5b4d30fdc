//! The Grokking lab's config panel.

use crate::app::actions::Action;
use crate::config::{
    Activation, Combine, FieldProblem, GrokkingConfig, MlpConfig, ModelConfig, Operation, Preset,
    TransformerConfig,
};
use crate::protocol::HyperChange;
use eframe::egui::{self, Color32, DragValue, Response, RichText, Ui};

/// What the panel needs besides the config it edits.
pub struct ConfigPanel<'a> {
    pub presets: &'a [Preset],
    /// Index of the preset last loaded.
    pub preset: usize,
    /// A run is starting, running or paused: only live settings may change.
    pub run_active: bool,
    /// Problems `validate()` found in the edited config.
    pub problems: &'a [FieldProblem],
}

/// Colour of validation problems.
pub fn error_color(ui: &Ui) -> Color32 {
    ui.visuals().error_fg_color
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
    if panel.run_active {
        ui.label(
            RichText::new("A run is active: only settings marked live can change.")
                .small()
                .italics(),
        );
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

pub(crate) fn section(ui: &mut Ui, title: &str, add: impl FnOnce(&mut Ui)) {
    egui::CollapsingHeader::new(RichText::new(title).strong())
        .default_open(true)
        .show(ui, |ui| {
            egui::Grid::new(title)
                .num_columns(2)
                .spacing([10.0, 4.0])
                .show(ui, add);
        });
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

/// A preset combo box over `(title, description)` items, `selected` shown with its description;
/// `edited` marks that the settings have left the preset.
pub(crate) fn preset_picker_ui(
    ui: &mut Ui,
    id: &str,
    items: &[(&str, &str)],
    selected: usize,
    edited: bool,
) -> Action {
    let mut action = Action::None;
    let current = items.get(selected);
    ui.horizontal(|ui| {
        let label = ui.label("Preset");
        let title = current.map_or("custom", |p| p.0);
        let combo = egui::ComboBox::from_id_salt(id)
            .selected_text(title)
            .width(200.0)
            .show_ui(ui, |ui| {
                for (i, (title, description)) in items.iter().enumerate() {
                    if ui
                        .selectable_label(i == selected, *title)
                        .on_hover_text(*description)
                        .clicked()
                    {
                        action = Action::SelectPreset(i);
                    }
                }
            });
        combo.response.labelled_by(label.id);
        if edited {
            ui.label(RichText::new("edited").small().weak())
                .on_hover_text(
                    "The settings differ from the preset; choose it again to restore them.",
                );
        }
    });
    if let Some((_, description)) = current {
        ui.label(RichText::new(*description).small());
    }
    action
}

/// A labelled row: label, widget, and a warning sign when `field` has a problem.
pub(crate) fn row(
    ui: &mut Ui,
    label: &str,
    field: &str,
    problems: &[FieldProblem],
    add: impl FnOnce(&mut Ui) -> Response,
) -> Response {
    let label_resp = ui.label(label);
    let r = ui
        .horizontal(|ui| {
            let r = add(ui).labelled_by(label_resp.id);
            for p in problems.iter().filter(|p| p.field == field) {
                ui.label(RichText::new("!").strong().color(error_color(ui)))
                    .on_hover_text(&p.message);
            }
            r
        })
        .inner;
    ui.end_row();
    r
}

pub(crate) fn live_badge(ui: &mut Ui) {
    let color = ui.visuals().selection.bg_fill;
    ui.label(RichText::new("live").small().strong().color(color))
        .on_hover_text("Can change while a run trains: takes effect at the next step and is marked on the plots.");
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

/// A float field for values spanning decades: shown as `1e-3`, typed as any float.
pub(crate) fn sci_value(value: &mut f64) -> DragValue<'_> {
    let speed = value.abs().max(1e-9) * 0.02;
    DragValue::new(value)
        .speed(speed)
        .custom_formatter(|v, _| format_sci(v))
        .custom_parser(|s| s.trim().parse::<f64>().ok())
        .update_while_editing(false)
}

/// `0.001` -> `1e-3`, `0.0015` -> `1.5e-3`, `1` -> `1`, `0.98` -> `0.98`.
pub fn format_sci(v: f64) -> String {
    if v != 0.0 && v.is_finite() && (v.abs() < 0.01 || v.abs() >= 1e4) {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
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
        ui.checkbox(&mut cfg.early_stop, "when train and validation ≥ 99 %")
    });
}

/// `1234567` -> `1 234 567` (thin spaces), readable at a glance.
pub fn group_digits(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push('\u{2009}');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_grouped_in_threes() {
        assert_eq!(group_digits(0), "0");
        assert_eq!(group_digits(999), "999");
        assert_eq!(group_digits(1000), "1\u{2009}000");
        assert_eq!(group_digits(1_234_567), "1\u{2009}234\u{2009}567");
    }

    #[test]
    fn scientific_only_for_small_or_large_values() {
        assert_eq!(format_sci(0.001), "1e-3");
        assert_eq!(format_sci(0.0015), "1.5e-3");
        assert_eq!(format_sci(1.0), "1");
        assert_eq!(format_sci(0.98), "0.98");
        assert_eq!(format_sci(0.0), "0");
    }
}
