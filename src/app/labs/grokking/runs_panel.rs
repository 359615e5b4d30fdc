//! The Grokking lab's Runs panel: save, open and autosave; the runs list (shown or not, colour,
//! resume, fork, remove); grouping by seed; and the fork settings.

use super::run_files::{
    BandKind, DAMAGED_FOLDER, FolderUse, ForkDraft, NOTHING_TO_RESUME, RunFiles, RunRef,
    RunsAction, completed, has_dropout, in_temporary_folder,
};
use crate::app::link::Phase;
use crate::app::widgets::form::{error_color, format_sci};
use crate::config::{GrokkingConfig, ModelConfig};
use crate::store::RunHistory;
use eframe::egui::{self, DragValue, RichText, Ui};
use std::path::PathBuf;

/// The whole panel. `next`: the config a Start would run (its checkpoints' size is said); `phase`:
/// the current run's; `busy`: a dialog or a read is under way. Returns the action, and whether its
/// fold button was clicked.
/// The Runs panel: its controls, the list of runs (unless `list_shown` is false) and the fork being
/// set up. Returns the action asked for, whether the fold button was clicked, and where the list
/// was drawn.
pub fn runs_panel_ui(
    ui: &mut Ui,
    files: &mut RunFiles,
    history: &RunHistory,
    next: &GrokkingConfig,
    phase: Phase,
    busy: bool,
    list_shown: bool,
) -> (RunsAction, bool, Option<egui::Rect>) {
    let mut action = RunsAction::None;
    ui.add_space(4.0);
    let fold = ui
        .horizontal(|ui| {
            ui.heading("Runs");
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                ui.small_button("»")
                    .on_hover_text("Fold this panel to a strip at the window's edge (click the strip to open it again)")
                    .clicked()
            })
            .inner
        })
        .inner;
    ui.horizontal(|ui| {
        let (can_save, save_tip) = files.save_hint(history);
        if ui
            .add_enabled(!busy && can_save, egui::Button::new("Save run…"))
            .on_hover_text(save_tip.clone())
            .on_disabled_hover_text(save_tip)
            .clicked()
        {
            action = RunsAction::Save;
        }
        if ui
            .add_enabled(!busy, egui::Button::new("Open run…"))
            .on_hover_text("Read a run folder (nothing in it is written) and add it to the list; a phase study's folder (from `grokscope phase --out`) shows in the phase diagram")
            .clicked()
        {
            action = RunsAction::Open;
        }
        if busy {
            ui.spinner();
        }
    });
    ui.checkbox(&mut files.settings.autosave, "autosave new runs")
        .on_hover_text("Each new run (and fork) gets its own folder in the runs folder at start");
    ui.checkbox(&mut files.settings.tensorboard, "TensorBoard event files")
        .on_hover_text(
            "Runs saved from now on (and resumed or forked runs) also write tensorboard/ event \
             files in their folder: tags like train/loss and val/acc; view with tensorboard --logdir",
        );
    if checkpoints_ui(ui, files, next) {
        action = RunsAction::Checkpoints;
    }
    ui.add_enabled_ui(files.settings.autosave, |ui| {
        ui.horizontal(|ui| {
            let l = ui.label("runs folder");
            ui.add(
                egui::TextEdit::singleline(&mut files.settings.runs_folder)
                    .desired_width(f32::INFINITY),
            )
            .labelled_by(l.id);
        });
    });
    if let Some(prompt) = &mut files.prompt {
        ui.separator();
        let what = match prompt.purpose {
            FolderUse::Save | FolderUse::SaveListed(_) => "Save the run into folder:",
            FolderUse::Open => "Open a run (or phase study) folder:",
            FolderUse::Fork(_) => "Open run folder:",
        };
        ui.label(what);
        let edit =
            ui.add(egui::TextEdit::singleline(&mut prompt.text).desired_width(f32::INFINITY));
        let enter = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        ui.horizontal(|ui| {
            if ui.button("OK").clicked() || enter {
                action = RunsAction::Typed(prompt.purpose, PathBuf::from(prompt.text.trim()));
            }
            if ui.button("Cancel").clicked() {
                action = RunsAction::CancelPrompt;
            }
        });
    }
    ui.separator();

    // the list of runs (a lesson may hide it, or point at it: a fork with its parent beside it)
    let list = list_shown.then(|| {
        egui::ScrollArea::vertical()
            .auto_shrink([false, true])
            .max_height(ui.available_height() * 0.55)
            .show(ui, |ui| {
                let a = current_row_ui(ui, files, history, phase);
                if a != RunsAction::None {
                    action = a;
                }
                let names = files.listed_names();
                for (r, shown_name) in files.listed.iter_mut().zip(names) {
                    ui.separator();
                    ui.horizontal(|ui| {
                        ui.checkbox(&mut r.visible, "")
                            .on_hover_text("Show this run in the plots");
                        egui::color_picker::color_edit_button_srgba(
                            ui,
                            &mut r.color,
                            egui::color_picker::Alpha::Opaque,
                        );
                        let mut name = RichText::new(shown_name).strong();
                        if r.greyed {
                            name = name.weak();
                        }
                        let label = ui.label(name);
                        if let Some(dir) = &r.dir {
                            label.on_hover_text(dir.display().to_string());
                        }
                    });
                    let steps = r.history.latest().map_or("no rows".into(), |(s, e)| {
                        format!("{} rows · step {s} · epoch {e}", r.history.row_count())
                    });
                    ui.label(RichText::new(steps).small().weak());
                    if let Some((dir, step)) = &r.parent {
                        ui.label(
                            RichText::new(format!(
                                "fork of {} at step {step}",
                                dir.file_name()
                                    .map_or(String::new(), |n| n.to_string_lossy().into())
                            ))
                            .small(),
                        );
                    }
                    if r.greyed {
                        ui.label(
                            RichText::new("parent of the current fork")
                                .small()
                                .italics(),
                        );
                    }
                    for p in &r.problems {
                        ui.label(
                            RichText::new(format!("problem: {p}"))
                                .small()
                                .color(error_color(ui)),
                        );
                    }
                    ui.horizontal_wrapped(|ui| {
                        let has_dir = r.dir.is_some();
                        let no_dir = "Only a run with a folder can go on";
                        let why_not = if r.completed {
                            NOTHING_TO_RESUME
                        } else if r.damaged {
                            DAMAGED_FOLDER
                        } else {
                            no_dir
                        };
                        if ui
                            .add_enabled(
                                has_dir && !r.completed && !r.damaged && !phase.active(),
                                egui::Button::new("Continue run"),
                            )
                            .on_hover_text(
                                "Continue from its newest usable checkpoint, in its folder",
                            )
                            .on_disabled_hover_text(why_not)
                            .clicked()
                        {
                            action = RunsAction::Resume(RunRef::Listed(r.key));
                        }
                        if ui
                            .add_enabled(has_dir, egui::Button::new("Fork…"))
                            .on_hover_text(
                                "Start a new run from one of its checkpoints with changed settings",
                            )
                            .on_disabled_hover_text(no_dir)
                            .clicked()
                        {
                            action = RunsAction::Fork(RunRef::Listed(r.key));
                        }
                        if r.dir.as_deref().is_some_and(in_temporary_folder)
                        && ui
                            .add_enabled(!busy, egui::Button::new("Save…"))
                            .on_hover_text(
                                "Copy this run into a folder of your own: it is recorded under the \
                                 system's temporary folder (as every run not autosaved is), \
                                 removed when the window closes unless a saved scene points at \
                                 it. Checkpoints and weight frames are copied with it, and a \
                                 fork's parent recorded there too is copied beside it.",
                            )
                            .clicked()
                    {
                        action = RunsAction::SaveListed(r.key);
                    }
                        if ui
                            .button("Remove")
                            .on_hover_text("Remove from the list (its folder is left as it is)")
                            .clicked()
                        {
                            action = RunsAction::Remove(r.key);
                        }
                    });
                }
            })
            .inner_rect
    });
    ui.separator();
    ui.checkbox(&mut files.settings.group_by_seed, "group by seed")
        .on_hover_text(
            "Runs trained alike but for the seed (the same config, the same changes mid-run at the \
             same steps, forked at the same step) are drawn as their mean with a band, over the \
             steps every run logged; a run repeating a seed of its group is drawn on its own",
        );
    ui.add_enabled_ui(files.settings.group_by_seed, |ui| {
        ui.horizontal(|ui| {
            ui.label("band");
            ui.radio_value(&mut files.settings.band, BandKind::MinMax, "min–max");
            ui.radio_value(&mut files.settings.band, BandKind::Std, "±1 std");
        });
    });
    if files.settings.group_by_seed {
        // what a group's legend has no room for (from the comparison last drawn)
        for (color, name, note) in files.group_notes() {
            ui.label(
                RichText::new(format!("{name}: {note}"))
                    .small()
                    .color(color),
            );
        }
    }
    ui.label(
        RichText::new(
            "Compared runs are drawn in their colours; the line style tells the metric: \
             validation solid, train (running) dashed, train (eval) dotted; \
             Fourier Gini solid, IPR dashed. The restricted and excluded losses show for one run \
             alone.",
        )
        .small()
        .weak(),
    );
    if let Some(draft) = &mut files.fork {
        ui.separator();
        let a = fork_ui(ui, draft, phase);
        if a != RunsAction::None {
            action = a;
        }
    }
    (action, fold, list)
}

fn current_row_ui(
    ui: &mut Ui,
    files: &mut RunFiles,
    history: &RunHistory,
    phase: Phase,
) -> RunsAction {
    let mut action = RunsAction::None;
    let name = files.current_name();
    ui.horizontal(|ui| {
        ui.checkbox(&mut files.current.visible, "")
            .on_hover_text("Show the current run in the plots");
        egui::color_picker::color_edit_button_srgba(
            ui,
            &mut files.current.color,
            egui::color_picker::Alpha::Opaque,
        );
        // an unsaved run is named "current run" already
        let label = match files.current.dir {
            Some(_) => format!("{name} (current)"),
            None => name.clone(),
        };
        ui.label(RichText::new(label).strong());
    });
    // the window's unsaved runs (a lesson's, any with autosave off) are recorded under the
    // temporary folder: said short, with the long path on hover
    let (place, path) = match &files.current.dir {
        Some(dir) if in_temporary_folder(dir) => (
            "not saved yet: in the temporary folder until the window closes (Save run… keeps it)"
                .to_string(),
            Some(format!(
                "Recorded in {}. Removed when the window closes, unless a scene saved in this \
                 window points at it.",
                dir.display()
            )),
        ),
        Some(dir) => (format!("saved in {}", dir.display()), None),
        None if history.run().is_some() => ("in memory (not saved)".into(), None),
        None => ("no run yet".into(), None),
    };
    let place = ui.label(RichText::new(place).small().weak());
    if let Some(path) = path {
        place.on_hover_text(path);
    }
    if let Some((dir, step)) = &files.current.parent {
        ui.label(RichText::new(format!("fork of {} at step {step}", dir.display())).small());
    }
    ui.horizontal(|ui| {
        let has_dir = files.current.dir.is_some();
        let ended = completed(history);
        if ui
            .add_enabled(
                has_dir && !ended && !phase.active(),
                egui::Button::new("Continue run"),
            )
            .on_hover_text(
                "Continue the stopped run from its newest usable checkpoint, in its folder",
            )
            .on_disabled_hover_text(if ended {
                NOTHING_TO_RESUME
            } else {
                "Save the run first; a stopped run with a folder can go on"
            })
            .clicked()
        {
            action = RunsAction::Resume(RunRef::Current);
        }
        if ui
            .add_enabled(has_dir, egui::Button::new("Fork…"))
            .on_hover_text("Start a new run from one of its checkpoints with changed settings")
            .on_disabled_hover_text("Save the run first: a fork starts from a checkpoint on disk")
            .clicked()
        {
            action = RunsAction::Fork(RunRef::Current);
        }
    });
    action
}

/// How often runs checkpoint (where a fork can start): automatic, or every N epochs typed; what that
/// costs on disk for `next` is said beside it and on hover. Whether the setting changed.
fn checkpoints_ui(ui: &mut Ui, files: &mut RunFiles, next: &GrokkingConfig) -> bool {
    let s = &mut files.settings;
    let about = "Where a fork can start: every run also checkpoints at its first step, at each \
                 milestone (memorised, validation 98 % and 99 %) and at its end. Auto sizes the \
                 cadence by the model, keeping a run to its epoch cap within 128 MiB of checkpoints \
                 (and 500 of them). A change applies to the running run from its next epoch.";
    let changed = ui
        .horizontal(|ui| {
            let l = ui.label("checkpoint every").on_hover_text(about);
            let auto = ui
                .checkbox(&mut s.checkpoint_auto, "auto")
                .on_hover_text(about);
            let typed = ui
                .add_enabled(
                    !s.checkpoint_auto,
                    DragValue::new(&mut s.checkpoint_every_epochs).speed(0.5),
                )
                .labelled_by(l.id)
                .on_hover_text(about);
            ui.label("epochs");
            auto.changed() || typed.changed()
        })
        .inner;
    match s.checkpoints() {
        Ok(cadence) => {
            let every = cadence.epochs_for(next);
            let one = crate::config::checkpoints::checkpoint_bytes(next);
            ui.label(
                RichText::new(format!(
                    "{}every {every} epoch{} here · {} each",
                    if s.checkpoint_auto { "auto: " } else { "" },
                    if every == 1 { "" } else { "s" },
                    crate::config::memory::size_text(one)
                ))
                .small()
                .weak(),
            )
            .on_hover_text(format!("{}. {about}", cadence.disk_text(next)));
        }
        Err(why) => {
            ui.label(
                RichText::new(format!(
                    "{why}; runs checkpoint at the automatic cadence until it is fixed"
                ))
                .small()
                .color(error_color(ui)),
            );
        }
    }
    changed
}

/// The fork settings: a checkpoint and what may change (see [`crate::config::FORKABLE`]).
fn fork_ui(ui: &mut Ui, draft: &mut ForkDraft, phase: Phase) -> RunsAction {
    let mut action = RunsAction::None;
    let name = draft
        .folder
        .dir
        .file_name()
        .map_or(String::new(), |n| n.to_string_lossy().into());
    ui.label(RichText::new(format!("Fork of {name}")).strong());
    let n = draft.folder.checkpoints.len();
    let last = draft.folder.checkpoints.last().map_or(0, |c| c.step);
    let (at_step, at_epoch) = draft.at().unwrap_or((0, 0));
    // the track runs over the steps (a click lands where the run was then) and snaps to the nearest
    // checkpoint; ← → (once it has focus: a click, or Tab) step one checkpoint back or on
    let mut step = at_step;
    let mut pick = None;
    ui.horizontal(|ui| {
        let l = ui.label("checkpoint");
        let r = ui
            .add(
                egui::Slider::new(&mut step, 0..=last.max(1))
                    .show_value(false)
                    .smart_aim(false),
            )
            .labelled_by(l.id)
            .on_hover_text(format!(
                "{n} checkpoints: click or drag to the step to fork from (the nearest checkpoint is \
                 taken); ← → step one checkpoint back or on"
            ));
        // a click on the track: the slider senses drags alone, so a click that is pressed and let go
        // between two frames (as a real mouse's is) never moved it; this takes it
        let click = ui.interact(r.rect, r.id.with("track"), egui::Sense::click());
        let clicked_at = click
            .clicked()
            .then(|| click.interact_pointer_pos().or(ui.input(|i| i.pointer.interact_pos())))
            .flatten();
        if click.clicked() {
            r.request_focus();
        }
        // (the click's own response may hold the focus egui gives a clicked widget)
        let keys = if r.has_focus() || click.has_focus() {
            ui.input(|i| {
                i.num_presses(egui::Key::ArrowRight) as i64
                    - i.num_presses(egui::Key::ArrowLeft) as i64
            })
        } else {
            0
        };
        if keys != 0 {
            let to = (draft.checkpoint as i64 + keys).clamp(0, n.saturating_sub(1) as i64);
            pick = Some(to as usize);
        } else if let Some(p) = clicked_at {
            // where egui's slider puts its values: the rail inset by its handle's radius
            let rail = r.rect.x_range().shrink(r.rect.height() / 2.5);
            let f = ((p.x - rail.min) / rail.span().max(1.0)).clamp(0.0, 1.0);
            pick = Some(draft.nearest((f64::from(f) * last as f64).round() as u64));
        } else if r.changed() {
            pick = Some(draft.nearest(step));
        }
        // a click or drag on the track gives it the keys too
        if r.is_pointer_button_down_on() {
            r.request_focus();
        }
    });
    // a step typed: the nearest checkpoint to it
    ui.horizontal(|ui| {
        let l = ui.label("nearest to step");
        let mut typed = at_step;
        let r = ui
            .add(
                DragValue::new(&mut typed)
                    .range(0..=last)
                    // taken once typed (Enter or leaving the field), not at each digit
                    .update_while_editing(false),
            )
            .labelled_by(l.id)
            .on_hover_text("Type a step: the fork starts at the checkpoint nearest to it");
        if r.changed() {
            pick = Some(draft.nearest(typed));
        }
        ui.label(RichText::new(format!("step {at_step} · epoch {at_epoch}")).monospace());
    });
    if let Some(i) = pick
        && i != draft.checkpoint
    {
        draft.select(i);
    }
    // a checkpoint found damaged when the folder was read is said under the slider
    if let Some(why) = draft.problem_of(draft.checkpoint) {
        ui.label(
            RichText::new(format!(
                "this checkpoint {why}: a fork from it will be refused"
            ))
            .small()
            .color(error_color(ui)),
        );
    }
    egui::Grid::new("fork_settings")
        .num_columns(2)
        .spacing([8.0, 3.0])
        .show(ui, |ui| {
            let c = &mut draft.config;
            ui.label("weight decay");
            ui.add(
                DragValue::new(&mut c.optim.weight_decay)
                    .speed(0.01)
                    .range(0.0..=100.0),
            );
            ui.end_row();
            ui.label("learning rate");
            ui.add(
                DragValue::new(&mut c.optim.lr)
                    .speed(1e-5)
                    .range(1e-7..=10.0)
                    .custom_formatter(|v, _| format_sci(v)),
            );
            ui.end_row();
            ui.label("train fraction");
            ui.add(
                DragValue::new(&mut c.train_fraction)
                    .speed(0.01)
                    .range(0.01..=0.99),
            );
            ui.end_row();
            ui.label("batch size");
            ui.add(DragValue::new(&mut c.batch_size).range(1..=1_000_000));
            ui.end_row();
            ui.label("full batch");
            ui.checkbox(&mut c.full_batch, "");
            ui.end_row();
            if has_dropout(c)
                && let ModelConfig::Transformer(t) = &mut c.model
            {
                ui.label("dropout");
                ui.add(DragValue::new(&mut t.dropout).speed(0.01).range(0.0..=0.9));
                ui.end_row();
            }
            ui.label("max epochs");
            ui.add(DragValue::new(&mut c.max_epochs).range(1..=10_000_000));
            ui.end_row();
        });
    let changes = draft.changes();
    match &changes {
        Ok(list) if list.is_empty() => {
            ui.label(RichText::new("no changes: the fork goes on like its parent").small());
        }
        Ok(list) => {
            for c in list {
                ui.label(RichText::new(c).small().monospace());
            }
        }
        Err(e) => {
            ui.label(RichText::new(e).small().color(error_color(ui)));
        }
    }
    ui.horizontal(|ui| {
        if ui
            .add_enabled(
                changes.is_ok() && !phase.active(),
                egui::Button::new("Start fork"),
            )
            .on_disabled_hover_text("Stop the run in progress, and fix the settings named in red")
            .clicked()
        {
            action = RunsAction::StartFork;
        }
        if ui.button("Cancel fork").clicked() {
            action = RunsAction::CancelFork;
        }
    });
    action
}
