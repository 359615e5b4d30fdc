//! The Capacity tab: the sweep's panel (preset, widths, primes, seeds, threads, capacity runs, start,
//! stop, progress, open a folder) and the five figures of the spec's section 2.
//!
//! Figure 1 (the crossing) is drawn on log10 axes: every value is plotted as its log10 and the ticks
//! are labelled back in real units.

use crate::analysis::capacity::capacity_fraction;
use crate::analysis::capacity_study::{CChoice, CFrom, GivenC, Mean, PrimeAnalysis};
use crate::app::actions::Action;
use crate::app::teach::panels::PanelState;
use crate::app::widgets::form::{error_color, preset_picker_ui, row, section};
use crate::app::widgets::key::{KeyEntry, Mark, key_rows};
use crate::app::widgets::plots::{log_marks, log_tick, step_levels};
use crate::config::FieldProblem;
use crate::config::capacity::SweepPreset;
use crate::experiment::capacity::{GenCurvePoint, MemCurvePoint, TaskResult};
use crate::export::labs::{NEVER_GEN_NAME, NEVER_MEM_NAME, regime_name, regime_rgb, regime_spans};
use crate::protocol::TaskRun;
use crate::store::capacity::{FlightCurve, Source, SweepHistory};
use eframe::egui::{self, Color32, RichText, Ui};
use egui_plot::{
    Corner, Legend, Line, MarkerShape, Plot, PlotPoint, PlotPoints, Points, Span, VLine,
    uniform_grid_spacer,
};
use std::path::PathBuf;

/// What the Capacity tab asks its lab to do.
#[must_use]
#[derive(Clone, Debug, PartialEq)]
pub enum CapacityAction {
    None,
    SelectPreset(usize),
    /// Validate the panel and start the sweep.
    Start,
    /// Cancel the running sweep.
    Stop,
    /// Read a sweep folder.
    OpenFolder(PathBuf),
    /// Ask for the sweep folder to read in a dialog.
    ChooseFolder,
    /// Show this result's numbers (an index into the history's results), or none.
    Select(Option<usize>),
    /// Use this C for f = S / (C P) and the speed model's fit.
    SetC(CChoice),
    /// Ask for a folder and save the sweep shown into it.
    SaveAs,
    /// Read the sweeps folder again (the Saved sweeps list).
    RefreshSaved,
    /// Ask to confirm the removal of this folder of the Saved sweeps list.
    AskRemove(PathBuf),
    /// Keep the folder whose removal was being confirmed.
    CancelRemove,
    /// Remove this folder of the Saved sweeps list (confirmed).
    Remove(PathBuf),
}

impl CapacityAction {
    /// `self` unless it is `None`, else `other`.
    pub fn or(self, other: CapacityAction) -> CapacityAction {
        match self {
            CapacityAction::None => other,
            CapacityAction::SelectPreset(_)
            | CapacityAction::Start
            | CapacityAction::Stop
            | CapacityAction::OpenFolder(_)
            | CapacityAction::ChooseFolder
            | CapacityAction::Select(_)
            | CapacityAction::SetC(_)
            | CapacityAction::SaveAs
            | CapacityAction::RefreshSaved
            | CapacityAction::AskRemove(_)
            | CapacityAction::CancelRemove
            | CapacityAction::Remove(_) => self,
        }
    }
}

/// The list fields of the panel as typed (comma-separated).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ListText {
    pub widths: String,
    pub primes: String,
    pub seeds: String,
}

/// What the panel shows besides the drafts.
pub struct CapacityPanel<'a> {
    pub presets: &'a [SweepPreset],
    pub preset: usize,
    pub edited: bool,
    pub active: bool,
    pub problems: &'a [FieldProblem],
    /// "3/12 tasks · about 40 s left".
    pub progress: Option<String>,
    /// A folder is being read, or a dialog asks for one.
    pub loading: bool,
    /// The folder of the sweep shown (written by a sweep started here, or opened).
    pub folder: Option<&'a super::ShownFolder>,
    /// There are results to save.
    pub can_save: bool,
    /// The sweep shown was stopped (or failed) before its last task.
    pub stopped: bool,
    /// The last C a sweep shown in this window measured (offered for the speed model).
    pub measured_c: Option<&'a GivenC>,
    /// The C the figures use now and where it came from.
    pub c_now: String,
    /// What the Saved sweeps list needs of the lab.
    pub saved: super::saved::SavedPanel<'a>,
}

/// Which figure the centre shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Figure {
    #[default]
    Crossing,
    Bits,
    Capacity,
    Speed,
    Onsets,
}

impl Figure {
    const ALL: [Figure; 5] = [
        Figure::Crossing,
        Figure::Bits,
        Figure::Capacity,
        Figure::Speed,
        Figure::Onsets,
    ];

    fn title(self) -> &'static str {
        match self {
            Figure::Crossing => "1 · crossing",
            Figure::Bits => "2 · bits vs n",
            Figure::Capacity => "3 · capacity",
            Figure::Speed => "4 · T_mem vs f",
            Figure::Onsets => "5 · onsets",
        }
    }
}

/// The centre's state: figure, prime, the selected run, the typed folder path.
#[derive(Clone, Debug, Default)]
pub struct CapacityView {
    pub figure: Figure,
    /// Prime of figures 1 and 4 (`None`: the first).
    pub prime: Option<u32>,
    /// Index into the history's results of the run whose numbers and curves are shown.
    pub selected: Option<usize>,
    pub folder: String,
    /// Where the runs of the figure drawn last were on screen: (result index, position). A click selects
    /// the nearest within [`CLICK_RADIUS`].
    pub run_marks: Vec<(usize, egui::Pos2)>,
    /// The lines of the tasks-in-flight plot drawn last: (legend name, points).
    pub flight_lines: Vec<(String, usize)>,
    /// The crossing plot's key drawn above it, in order.
    pub crossing_key: Vec<String>,
    /// The crossing plot's entries hidden by a click on their key (by name), in the window.
    pub crossing_hidden: std::collections::BTreeSet<String>,
    /// The crossing plot's regime labels drawn last: the text as written (a line a word where one
    /// line is wider than the cell) and where, on screen.
    pub regime_labels: Vec<(String, egui::Rect)>,
    /// Where the crossing plot drawn last ringed runs trained in the window beside a folder's
    /// (log10 P, log10 epochs).
    pub rings: Vec<[f64; 2]>,
    /// The speed model's C: given in the panel (true) or the sweep's own fit, else the paper's.
    pub c_given: bool,
    /// The C typed in the panel, in bits per parameter.
    pub c_typed: String,
    /// A measured C picked in the panel, used while `c_typed` is as the pick wrote it.
    pub c_pick: Option<(String, GivenC)>,
}

/// The C of the panel's speed-model control: the sweep's own ([`CChoice::Auto`]), or the one typed
/// or picked, or the problem with the typed text (the analysis then uses the sweep's own C).
pub fn c_choice_of(view: &CapacityView) -> Result<CChoice, String> {
    if !view.c_given {
        return Ok(CChoice::Auto);
    }
    if let Some(pick) = picked_c(view) {
        return Ok(CChoice::Given(pick.clone()));
    }
    let text = view.c_typed.trim();
    if text.is_empty() {
        return Err("type C in bits per parameter (e.g. 2.16)".into());
    }
    let bits: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of bits per parameter (e.g. 2.16)"))?;
    GivenC::new(bits, "typed in the Capacity panel", false)
        .map(CChoice::Given)
        .map_err(|e| e.to_string())
}

/// The C picked from a sweep that measured it, while the panel gives it (its field as the pick wrote
/// it): it keeps its source and lower-bound mark, which a typed C does not have.
pub fn picked_c(view: &CapacityView) -> Option<&GivenC> {
    match &view.c_pick {
        Some((written, pick)) if view.c_given && written == view.c_typed.trim() => Some(pick),
        _ => None,
    }
}

/// The speed model's C: the sweep's own, or one typed or picked from a sweep that measured it.
fn c_ui(ui: &mut Ui, view: &mut CapacityView, panel: &CapacityPanel<'_>) -> CapacityAction {
    let before = (view.c_given, view.c_typed.clone());
    ui.label("C in f = S / (C P):");
    ui.radio_value(
        &mut view.c_given,
        false,
        "the sweep's own capacity fit (else the paper's 2.16)",
    );
    ui.horizontal(|ui| {
        let radio = ui.radio_value(&mut view.c_given, true, "C =");
        let r = ui
            .add(
                egui::TextEdit::singleline(&mut view.c_typed)
                    .hint_text("e.g. 1.83")
                    .desired_width(60.0),
            )
            .labelled_by(radio.id)
            .on_hover_text("bits per parameter, finite and > 0");
        if r.changed() {
            view.c_given = true;
        }
        ui.label("bits/param");
    });
    let mut picked = false;
    if let Some(m) = panel.measured_c {
        let c = crate::export::labs::c_text(m.bits_per_param(), m.lower_bound(), 2);
        if ui
            .button(format!("use {c}"))
            .on_hover_text(format!("the C {}", m.source()))
            .clicked()
        {
            let written = format!("{:.3}", m.bits_per_param());
            view.c_typed = written.clone();
            view.c_pick = Some((written, m.clone()));
            view.c_given = true;
            picked = true;
        }
    }
    let choice = c_choice_of(view);
    if let Err(why) = &choice {
        ui.label(RichText::new(format!("C not used: {why}")).color(error_color(ui)));
    }
    ui.label(
        RichText::new(format!("in use: {}", panel.c_now))
            .small()
            .weak(),
    );
    if picked || before != (view.c_given, view.c_typed.clone()) {
        return CapacityAction::SetC(choice.unwrap_or_default());
    }
    CapacityAction::None
}

/// How far (in screen points) from a run's marker a click still selects it.
pub const CLICK_RADIUS: f32 = 12.0;

/// The left panel.
pub fn config_ui(
    ui: &mut Ui,
    draft: &mut crate::config::CapacitySweepConfig,
    text: &mut ListText,
    view: &mut CapacityView,
    saved: &mut super::saved::SavedList,
    panel: &CapacityPanel<'_>,
) -> CapacityAction {
    let mut action = CapacityAction::None;
    ui.add_space(4.0);
    ui.heading("Capacity lab");
    ui.label(
        RichText::new("memorisation speed against generalisation speed, across model sizes")
            .small()
            .weak(),
    );
    ui.add_space(4.0);
    ui.add_enabled_ui(!panel.active, |ui| {
        let items: Vec<(&str, &str)> = panel
            .presets
            .iter()
            .map(|p| (p.title, p.description))
            .collect();
        if let Action::SelectPreset(i) =
            preset_picker_ui(ui, "capacity_preset", &items, panel.preset, panel.edited)
        {
            action = CapacityAction::SelectPreset(i);
        }
    });
    ui.separator();
    let problems = panel.problems;
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show(ui, |ui| {
            ui.add_enabled_ui(!panel.active, |ui| {
                section(ui, "Sweep", |ui| {
                    egui::Grid::new("capacity_grid")
                        .num_columns(2)
                        .show(ui, |ui| {
                            row(ui, "widths", "widths", problems, |ui| {
                                ui.text_edit_singleline(&mut text.widths)
                                    .on_hover_text("d_model values, comma-separated")
                            });
                            row(ui, "primes", "primes", problems, |ui| {
                                ui.text_edit_singleline(&mut text.primes)
                                    .on_hover_text("one crossing plot per prime")
                            });
                            row(ui, "seeds", "seeds", problems, |ui| {
                                ui.text_edit_singleline(&mut text.seeds)
                                    .on_hover_text("seeds per (width, prime)")
                            });
                            row(ui, "threads", "threads", problems, |ui| {
                                ui.add(egui::DragValue::new(&mut draft.threads).range(0..=256))
                                    .on_hover_text("training threads (0: one per core)")
                            });
                            row(ui, "capacity runs", "capacity", problems, |ui| {
                                ui.checkbox(&mut draft.capacity, "measure C").on_hover_text(
                                    "also train on random-label sets of growing size and record \
                                     the memorised bits (figures 2 and 3)",
                                )
                            });
                        });
                });
            });
            ui.add_space(6.0);
            ui.horizontal(|ui| {
                if panel.active {
                    if ui.button("■ Stop sweep").clicked() {
                        action = CapacityAction::Stop;
                    }
                } else if ui
                    .add_enabled(problems.is_empty(), egui::Button::new("▶ Start sweep"))
                    .clicked()
                {
                    action = CapacityAction::Start;
                }
            });
            if let Some(p) = &panel.progress {
                ui.label(RichText::new(p).monospace());
            }
            if folder_ui(ui, panel) {
                action = CapacityAction::SaveAs;
            }
            ui.separator();
            // the analysis' C, not the sweep's: it may change while a sweep runs
            egui::CollapsingHeader::new(RichText::new("Speed model (figure 4)").strong())
                .default_open(true)
                .show(ui, |ui| {
                    let c = c_ui(ui, view, panel);
                    action = action.clone().or(c);
                });
            ui.separator();
            ui.label(RichText::new("Open sweep folder…").strong());
            ui.horizontal(|ui| {
                ui.add(
                    egui::TextEdit::singleline(&mut view.folder)
                        .hint_text("folder written by grokscope sweep")
                        .desired_width(180.0),
                );
                // with no folder typed, the button asks for one in a dialog (its label ends in …)
                let typed = view.folder.trim();
                let ok = !panel.loading && !panel.active;
                let label = if typed.is_empty() { "Open…" } else { "Open" };
                let r = ui
                    .add_enabled(ok, egui::Button::new(label))
                    .on_hover_text(if typed.is_empty() {
                        "Choose a folder written by `grokscope sweep` (or a sweep saved by the window)"
                    } else {
                        "Read the typed folder (only read: nothing in it is written)"
                    });
                if r.clicked() {
                    action = if typed.is_empty() {
                        CapacityAction::ChooseFolder
                    } else {
                        CapacityAction::OpenFolder(PathBuf::from(typed))
                    };
                }
            });
            ui.separator();
            let a = super::saved::saved_ui(ui, saved, &panel.saved);
            action = action.clone().or(a);
            if !problems.is_empty() {
                ui.add_space(6.0);
                ui.label(RichText::new("Problems").strong().color(error_color(ui)));
                for p in problems {
                    ui.label(
                        RichText::new(format!("{}: {}", p.field, p.message)).color(error_color(ui)),
                    );
                }
            }
        });
    action
}

/// Label of the button that saves the sweep shown into a chosen folder.
pub const SAVE_AS: &str = "Save sweep as…";

/// Label of the button that copies the sweep folder's path.
pub const COPY_PATH: &str = "Copy path";

/// Where the sweep shown is on disk (the folder a sweep started here writes as it goes, or the one
/// it was opened from), a button that copies the path, and Save sweep as…; true when that was
/// clicked.
fn folder_ui(ui: &mut Ui, panel: &CapacityPanel<'_>) -> bool {
    let mut save = false;
    let caption = caption_style(ui);
    let small = |t: String| RichText::new(t).text_style(caption.clone());
    match panel.folder {
        Some(f) => {
            let what = match (f.written_here, panel.active) {
                // (why, in red below: the folder could not be made, or a file not written)
                (true, _) if f.problem.is_some() => "Writing failed",
                (true, true) => "Writing into",
                (true, false) => "Saved in",
                (false, _) => "Opened from",
            };
            // the folder's name (the full path on hover, in the status line and by Copy path): a
            // long path in the panel widened it
            let name = f.dir.file_name().map_or_else(
                || f.dir.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            );
            let place = if f.written_here {
                " (in the app's data folder)"
            } else {
                ""
            };
            ui.label(small(format!("{what}{place}:")));
            ui.add(egui::Label::new(small(name)).wrap())
                .on_hover_text(f.dir.display().to_string());
            if let Some(why) = &f.problem {
                let red = error_color(ui);
                ui.label(small(why.clone()).color(red));
            }
            if f.written_here && panel.stopped {
                ui.label(small(
                    "Stopped: `grokscope sweep --config FOLDER/sweep.toml --out FOLDER` runs the \
                     tasks it lacks (Copy path gives FOLDER)"
                        .into(),
                ));
            }
        }
        None if panel.can_save && !panel.active => {
            ui.label(small(
                "Not on disk: this window has no data folder. Save sweep as… keeps it".into(),
            ));
        }
        None => {}
    }
    ui.horizontal(|ui| {
        if let Some(f) = panel.folder
            && ui
                .button(COPY_PATH)
                .on_hover_text("Copy the folder's path (for grokscope merge, analyse or export)")
                .clicked()
        {
            ui.ctx().copy_text(f.dir.display().to_string());
        }
        if panel.can_save {
            let ok = !panel.active && !panel.loading;
            save = ui
                .add_enabled(ok, egui::Button::new(SAVE_AS))
                .on_hover_text(
                    "Save the sweep shown into a new or empty folder of your choice, as \
                     `grokscope sweep --out` writes one",
                )
                .on_disabled_hover_text(
                    "once the sweep ends (its folder is written as each task finishes)",
                )
                .clicked();
        }
    });
    save
}

/// The sweep bundled with the app (`grokscope sweep --preset cpu`'s eight widths on a + b mod 31):
/// the crossing at once, without training for minutes first.
pub const EXAMPLE_SWEEP: &str = "assets/sweeps/cpu";

/// The centre with no results: what to do, and (while nothing runs or loads) the bundled sweep one
/// click away. The presenter view leaves the button out, as views leave out their controls there.
fn empty_ui(ui: &mut Ui, idle: bool) -> CapacityAction {
    let mut action = CapacityAction::None;
    // looked for once (up to six places on disk), not on every frame of the empty tab
    static EXAMPLE: std::sync::OnceLock<Option<std::path::PathBuf>> = std::sync::OnceLock::new();
    let example = EXAMPLE.get_or_init(|| {
        Some(crate::app::teach::player::bundled_path(EXAMPLE_SWEEP)).filter(|p| p.is_dir())
    });
    let offer = idle && !crate::app::teach::presenter::Look::of(ui.ctx()).presenting;
    ui.vertical_centered(|ui| {
        ui.add_space((ui.available_height() * 0.4 - 30.0).max(0.0));
        ui.label(RichText::new("No results yet: start a sweep, or open a sweep folder.").weak());
        if let Some(example) = example.as_ref().filter(|_| offer) {
            ui.add_space(8.0);
            if ui
                .button("Open the example sweep")
                .on_hover_text(format!(
                    "The sweep bundled with grokscope ({EXAMPLE_SWEEP}): the cpu preset's eight \
                     widths on a + b mod 31, finished, so the crossing of T_mem and T_gen shows at \
                     once (76 s of training on one core)"
                ))
                .clicked()
            {
                action = CapacityAction::OpenFolder(example.clone());
            }
        }
    });
    action
}

/// An epoch count or "never".
fn epochs(v: Option<u64>) -> String {
    v.map_or_else(|| "never".to_string(), |e| e.to_string())
}

fn opt(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_string(), |x| format!("{x:.0}"))
}

/// The centre: figure tabs, the numbers, the figure, and the selected run's numbers at the right.
pub fn centre_ui(
    ui: &mut Ui,
    view: &mut CapacityView,
    history: &SweepHistory,
    panels: &mut PanelState,
    idle: bool,
) -> CapacityAction {
    let mut action = CapacityAction::None;
    let has_cap = history.has_capacity_runs();
    // the whole centre is the crossing's panel; the figure tabs are the other figures' (a lesson
    // may hide them, leaving the crossing)
    panels.drawn("crossing", ui.max_rect());
    if !panels.shown("figures") {
        view.figure = Figure::Crossing;
    }
    let tabs = ui.horizontal_wrapped(|ui| {
        if !panels.shown("figures") {
            return;
        }
        for f in Figure::ALL {
            let needs_cap = matches!(f, Figure::Bits | Figure::Capacity);
            let r = ui.add_enabled(
                !needs_cap || has_cap,
                egui::Button::selectable(view.figure == f, f.title()),
            );
            if r.clicked() {
                view.figure = f;
            }
            if needs_cap {
                r.on_disabled_hover_text("needs a sweep with capacity runs");
            }
        }
        let primes = history.primes();
        if primes.len() > 1 {
            ui.separator();
            ui.label("prime");
            let shown = view
                .prime
                .filter(|p| primes.contains(p))
                .or(primes.first().copied());
            for p in primes {
                if ui
                    .selectable_label(shown == Some(p), p.to_string())
                    .clicked()
                {
                    view.prime = Some(p);
                }
            }
        }
    });
    if panels.shown("figures") {
        panels.drawn("figures", tabs.response.rect);
    }
    if (matches!(view.figure, Figure::Bits | Figure::Capacity)) && !has_cap {
        view.figure = Figure::Crossing;
    }
    let a = history.analysis();
    let prime = view
        .prime
        .filter(|p| a.primes.iter().any(|x| x.p == *p))
        .or_else(|| a.primes.first().map(|x| x.p));
    let pa = a.primes.iter().find(|x| Some(x.p) == prime);
    numbers_ui(ui, history, pa);
    ui.separator();
    view.flight_lines.clear();
    let flying = !history.in_flight().is_empty();
    if history.results().is_empty() {
        if flying {
            in_flight_ui(ui, view, history);
        } else {
            action = empty_ui(ui, idle);
        }
        return action;
    }
    if flying {
        // the figure keeps most of the height: at 220 points the presenter's crossing plot (600
        // points high) shrank to a strip while one width trained (a helper's lesson audit)
        let room = ui.available_height();
        egui::Panel::bottom("capacity_in_flight")
            .resizable(true)
            .default_size((room * 0.35).clamp(100.0, 220.0))
            .max_size((room * 0.6).max(100.0))
            .show(ui, |ui| in_flight_ui(ui, view, history));
    }
    if let Some(r) = view.selected.and_then(|i| history.results().get(i)) {
        egui::Panel::bottom("capacity_run")
            .resizable(true)
            .default_size(250.0)
            .show(ui, |ui| {
                ui.horizontal_top(|ui| {
                    ui.vertical(|ui| {
                        ui.set_width(170.0);
                        run_details_ui(ui, r);
                        if ui.button("close").clicked() {
                            action = CapacityAction::Select(None);
                        }
                    });
                    run_curves_ui(ui, r);
                });
            });
    }
    view.run_marks.clear();
    let figure_action = match view.figure {
        Figure::Crossing => crossing_ui(ui, view, history, prime),
        Figure::Bits => {
            bits_ui(ui, history);
            CapacityAction::None
        }
        Figure::Capacity => {
            capacity_ui(ui, history);
            CapacityAction::None
        }
        Figure::Speed => speed_ui(ui, view, history, prime),
        Figure::Onsets => {
            onsets_ui(ui, history);
            CapacityAction::None
        }
    };
    action.or(figure_action)
}

fn run_details_ui(ui: &mut Ui, r: &TaskResult) {
    ui.label(RichText::new("Run").strong());
    egui::Grid::new("capacity_run_grid")
        .num_columns(2)
        .show(ui, |ui| {
            for (k, v) in [
                ("width", r.width.to_string()),
                ("p", r.p.to_string()),
                ("seed", r.seed.to_string()),
                ("P", r.params.to_string()),
                ("T_mem", epochs(r.t_mem)),
                ("T_train", epochs(r.t_train)),
                ("T_gen", epochs(r.t_gen)),
                ("delay", r.delay_text()),
                ("S (bits)", format!("{:.0}", r.complexity_bits)),
                ("max bits", opt(r.max_bits())),
                ("wall", format!("{:.1} s", r.wall_secs)),
            ] {
                let key = ui.label(k);
                if k == "delay" {
                    key.on_hover_text(
                        "From t_train (train accuracy ≥ 99 %) to validation ≥ 98 %, as the paper \
                         measures it; T_gen is validation ≥ 99 %, so the delay is not T_gen − t_train",
                    );
                }
                ui.label(RichText::new(v).monospace());
                ui.end_row();
            }
        });
}

const TRAIN: Color32 = Color32::from_rgb(0x6c, 0xc0, 0x6c);

/// The caption of a run's curves: what the figure below shows, or why there is none.
pub fn curves_caption(r: &TaskResult) -> String {
    if r.curves.is_empty() {
        return format!(
            "d = {}, seed {}: no curves (this result was written before sweeps stored them; rerun \
             the task to record them)",
            r.width, r.seed
        );
    }
    format!(
        "d = {}, seed {}: modular run {} epochs ({} points), random labels {} epochs ({} points)",
        r.width,
        r.seed,
        r.gen_epochs,
        r.curves.gen_run.len(),
        r.mem_epochs,
        r.curves.mem_run.len()
    )
}

/// What the dashed lines and the shading of a run's curves mark.
fn marks_caption(r: &TaskResult) -> String {
    let delay = match (r.t_train, r.delay) {
        // to validation >= 98 % (the paper's delay), so it is not T_gen - t_train (a helper's audit)
        (Some(_), Some(d)) if d > 0 => format!(
            " · shaded: delay {} (t_train to validation ≥ 98 %)",
            r.delay_text()
        ),
        _ => format!(" · delay {}", r.delay_text()),
    };
    format!(
        "dashed: T_mem {} (red) · t_train {} (green) · T_gen {} (blue){delay}",
        epochs(r.t_mem),
        epochs(r.t_train),
        epochs(r.t_gen)
    )
}

/// The selected run's curves: accuracies and (log) losses against epochs, with T_mem, t_train and T_gen
/// as lines and the delay shaded.
fn run_curves_ui(ui: &mut Ui, r: &TaskResult) {
    ui.vertical(|ui| {
        ui.label(RichText::new(curves_caption(r)).text_style(caption_style(ui)));
        if r.curves.is_empty() {
            return;
        }
        ui.label(
            RichText::new(marks_caption(r))
                .text_style(caption_style(ui))
                .weak(),
        );
        let c = &r.curves;
        let acc = |f: &dyn Fn(&GenCurvePoint) -> Option<f64>| -> Vec<[f64; 2]> {
            c.gen_run
                .iter()
                .filter_map(|p| Some([p.epoch as f64, f(p)?]))
                .collect()
        };
        let mem = |f: &dyn Fn(&MemCurvePoint) -> f64| -> Vec<[f64; 2]> {
            c.mem_run.iter().map(|p| [p.epoch as f64, f(p)]).collect()
        };
        let log = |v: Vec<[f64; 2]>| -> Vec<[f64; 2]> {
            v.into_iter()
                .filter_map(|[x, y]| Some([x, log10_of(y)?]))
                .collect()
        };
        let marks = |pui: &mut egui_plot::PlotUi<'_>| {
            if let (Some(t), Some(d)) = (r.t_train, r.delay)
                && d > 0
            {
                pui.add(
                    Span::new("", t as f64..=t as f64 + d as f64)
                        .fill(DELAY.gamma_multiply(0.15))
                        .border_width(0.0),
                );
            }
            // unnamed, so off the legends: the caption above says what they mark
            for (t, color) in [(r.t_mem, MEM), (r.t_train, TRAIN), (r.t_gen, GEN)] {
                if let Some(t) = t {
                    pui.vline(
                        VLine::new("", t as f64)
                            .color(color)
                            .style(egui_plot::LineStyle::dashed_loose())
                            .width(1.0),
                    );
                }
            }
        };
        let w = ((ui.available_width() - 8.0) / 2.0).max(120.0);
        let h = ui.available_height().max(100.0);
        // one small legend (the loss plot uses the same colours): accuracies rise, so the bottom right
        // is usually free
        let legend = Legend::default()
            .position(Corner::RightBottom)
            .text_style(crate::app::widgets::plots::legend_text_style(ui.ctx()));
        ui.horizontal(|ui| {
            Plot::new("capacity_run_acc")
                .width(w)
                .height(h)
                .x_axis_label("epoch")
                .x_grid_spacer(uniform_grid_spacer(step_levels))
                .y_axis_label("accuracy")
                .include_y(0.0)
                .include_y(1.0)
                .legend(legend)
                .show(ui, |pui| {
                    marks(pui);
                    let train = acc(&|p| Some(p.train_acc));
                    pui.line(Line::new("train (modular)", train).color(TRAIN));
                    pui.line(Line::new("validation", acc(&|p| p.val_acc)).color(GEN));
                    pui.line(Line::new("train (random labels)", mem(&|p| p.train_acc)).color(MEM));
                });
            Plot::new("capacity_run_loss")
                .width(w)
                .height(h)
                .x_axis_label("epoch")
                .x_grid_spacer(uniform_grid_spacer(step_levels))
                .y_axis_label("loss")
                .y_grid_spacer(log_marks)
                .y_axis_formatter(log_tick)
                .show(ui, |pui| {
                    marks(pui);
                    let train = log(acc(&|p| Some(p.train_loss)));
                    pui.line(Line::new("train (modular)", train).color(TRAIN));
                    pui.line(Line::new("validation", log(acc(&|p| p.val_loss))).color(GEN));
                    let labels = log(mem(&|p| p.train_loss));
                    pui.line(Line::new("train (random labels)", labels).color(MEM));
                });
        });
    });
}

/// The run whose marker is nearest a click on the plot (within [`CLICK_RADIUS`] on screen), and the
/// markers' screen positions recorded in `marks` for the next frame's tests and clicks.
fn clicked_run(
    pui: &egui_plot::PlotUi<'_>,
    points: &[RunPoint],
    marks: &mut Vec<(usize, egui::Pos2)>,
) -> Option<usize> {
    marks.extend(
        points
            .iter()
            .map(|&(i, x, y)| (i, pui.screen_from_plot(PlotPoint::new(x, y)))),
    );
    let at = pui
        .response()
        .clicked()
        .then(|| pui.response().interact_pointer_pos())
        .flatten()?;
    marks
        .iter()
        .map(|&(i, pos)| (i, pos.distance(at)))
        .filter(|&(_, d)| d <= CLICK_RADIUS)
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(i, _)| i)
}

/// Whether tasks of the sweep shown are still to come (running, or missing from its folder): a
/// missing P* is then "no crossing yet".
fn tasks_to_come(history: &SweepHistory) -> bool {
    let (done, total) = history.progress();
    done < total || (history.run().is_some() && history.outcome().is_none())
}

/// P* as the window writes it: the first crossing (with how many there are), or, with none, the
/// bracket runs that never reached a threshold put a crossing in ("between 9328 and 27076 (a
/// bracket: no crossing of the means)"), else the word for none ("no crossing", "yet" while tasks
/// are to come).
fn p_star_text(pa: &PrimeAnalysis, history: &SweepHistory) -> String {
    match pa.p_star {
        Some(p) if pa.p_star_all.len() > 1 => {
            format!("{p:.0} (first of {} crossings)", pa.p_star_all.len())
        }
        Some(p) => format!("{p:.0}"),
        None => {
            let yet = if tasks_to_come(history) { " yet" } else { "" };
            match pa.p_star_between.first() {
                Some([lo, hi]) => format!(
                    "between {lo:.0} and {hi:.0} (a bracket: no crossing of the means{yet})"
                ),
                None => format!("no crossing{yet}"),
            }
        }
    }
}

/// C, P*, the observed onset and the exp fit, in one line.
fn numbers_ui(ui: &mut Ui, history: &SweepHistory, pa: Option<&PrimeAnalysis>) {
    let a = history.analysis();
    let c = if let CFrom::Given(g) = &a.c_from {
        let c = crate::export::labs::c_text(a.c, g.lower_bound(), 2);
        format!("{c} bits/param (given: {})", g.source())
    } else if a.c_measured() {
        let c = crate::export::labs::fit_c_text(a.c, a, 2);
        match crate::analysis::capacity_study::slope_why(a.c_lower_bound, a.c_uncertain) {
            Some(why) => format!("{c} bits/param ({why})"),
            None => format!("{c} bits/param"),
        }
    } else if a.points.len() == 1 {
        "C = paper's 2.16 (capacity runs of one size so far; the fit needs two)".to_string()
    } else if history.has_capacity_runs() {
        "C = paper's 2.16 (the capacity fit has no positive slope)".to_string()
    } else {
        "C = paper's 2.16 (no capacity runs)".to_string()
    };
    let (p_star, onset, fit) = match pa {
        Some(pa) => (
            p_star_text(pa, history),
            opt(pa.observed_onset),
            pa.exp_fit.as_ref().map_or_else(
                || "a, b, R² —".to_string(),
                |f| format!("a = {:.3}, b = {:.3}, R² = {:.3}", f.a, f.b, f.r2),
            ),
        ),
        None => ("—".into(), "—".into(), "a, b, R² —".into()),
    };
    let line =
        format!("{c} · P* = {p_star} · observed onset = {onset} · T_mem = a·exp(b·f): {fit}");
    // a name stays with its value where the line wraps ("R²" ended one line, "= 0.971" began the
    // next: a helper's audit)
    ui.label(RichText::new(line.replace(" = ", GLUED_EQUALS)).monospace());
}

/// " = " that a wrapping line does not break (non-breaking spaces).
pub const GLUED_EQUALS: &str = "\u{a0}=\u{a0}";

/// The bottom of the crossing plot's log10 epoch axis: the decade at or below the lowest of `ys`
/// (so its tick is drawn), never under 0 (1 epoch, where a delay of 0 is drawn); 0 without points.
fn crossing_floor(ys: impl Iterator<Item = f64>) -> f64 {
    let lowest = ys.filter(|y| y.is_finite()).fold(f64::INFINITY, f64::min);
    if lowest.is_finite() {
        lowest.floor().max(0.0)
    } else {
        0.0
    }
}

fn log10_of(v: f64) -> Option<f64> {
    (v.is_finite() && v > 0.0).then(|| v.log10())
}

/// A figure's caption: small in the window, the body's size in the presenter view.
fn caption_style(ui: &Ui) -> egui::TextStyle {
    crate::app::widgets::plots::legend_text_style(ui.ctx())
}

/// A log-log plot (without a legend: each figure places its own).
fn log_plot(id: &str, x: &str, y: &str) -> Plot<'static> {
    Plot::new(id.to_string())
        .x_axis_label(x.to_string())
        .y_axis_label(y.to_string())
        .x_grid_spacer(log_marks)
        .y_grid_spacer(log_marks)
        .x_axis_formatter(log_tick)
        .y_axis_formatter(log_tick)
}

const MEM: Color32 = rgb(crate::export::labs::MEM_RGB);
const GEN: Color32 = rgb(crate::export::labs::GEN_RGB);
const DELAY: Color32 = rgb(crate::export::labs::DELAY_RGB);
/// The observed onset's colour, the export's.
const ONSET: Color32 = rgb(crate::export::labs::ONSET_RGB);
/// P*'s colour, the export's (it was white here, dark grey there).
const P_STAR: Color32 = rgb(crate::export::labs::P_STAR_RGB);

/// A figure colour of the export in the window.
const fn rgb([r, g, b]: [u8; 3]) -> Color32 {
    Color32::from_rgb(r, g, b)
}
/// The key's name of the delays of runs that never generalised (lower bounds).
const DELAY_OPEN_NAME: &str = "delay ≥ (never generalised)";
/// Colours of figure 2's runs, in turn.
const RUN_COLORS: [Color32; 6] = [
    Color32::from_rgb(0xe0, 0x6c, 0x4c),
    Color32::from_rgb(0x4c, 0x9a, 0xe0),
    Color32::from_rgb(0x6c, 0xc0, 0x6c),
    Color32::from_rgb(0xe0, 0xc0, 0x4c),
    Color32::from_rgb(0xb0, 0x8c, 0xe0),
    Color32::from_rgb(0x4c, 0xd0, 0xd0),
];

/// Where a run of figure 1 is drawn: (result index, log10 P, log10 epochs).
type RunPoint = (usize, f64, f64);

fn mean_line(
    pa: &PrimeAnalysis,
    f: impl Fn(&crate::analysis::capacity_study::SizeRow) -> &Mean,
) -> Vec<[f64; 2]> {
    pa.sizes
        .iter()
        .filter_map(|s| Some([log10_of(s.params as f64)?, log10_of(f(s).mean?)?]))
        .collect()
}

/// The key's name of the ring around the marks of a run trained in the window beside a folder's.
pub const TRAINED_HERE_NAME: &str = crate::export::labs::TRAINED_HERE;
/// Legend names of the crossing plot's two timescales (a mean line and its runs' points each).
const T_MEM_NAME: &str = "T_mem (random labels; line: mean)";
const T_GEN_NAME: &str = "T_gen (modular task; line: mean)";

/// Figure 1: mean T_mem and T_gen against P, the delays, P*, the observed onset and the regimes.
fn crossing_ui(
    ui: &mut Ui,
    view: &mut CapacityView,
    history: &SweepHistory,
    prime: Option<u32>,
) -> CapacityAction {
    let mut action = CapacityAction::None;
    let a = history.analysis();
    let Some(pa) = a.primes.iter().find(|x| Some(x.p) == prime) else {
        return action;
    };
    let rs: Vec<(usize, &TaskResult)> = history
        .results()
        .iter()
        .enumerate()
        .filter(|(_, r)| Some(r.p) == prime)
        .collect();
    let of_p: Vec<&TaskResult> = rs.iter().map(|(_, r)| *r).collect();
    // runs that never reached a threshold sit at the top: just above the longest run trained, where
    // the export draws them
    let never = crate::export::labs::never_reached_at(&of_p);
    let (top_gen, top_mem) = (never.generalised.log10(), never.memorised.log10());
    let (never_mem, never_gen) = history.never_counts(pa.p);
    let look = crate::app::teach::presenter::Look::of(ui.ctx());
    ui.label(
        RichText::new(format!(
            "p = {} · {} runs · never memorised: {never_mem} · never generalised: {never_gen} \
             (hollow, above the longest run; their delays hollow: at least) · delay 0 is drawn at 1 \
             epoch · click a point for its run",
            pa.p,
            of_p.len()
        ))
        .text_style(caption_style(ui)),
    );
    // no P* line without a crossing: the caption says why instead (and "yet" while tasks are to come)
    if pa.p_star.is_none() || pa.p_star_note.is_some() {
        let why = pa.p_star_note.as_deref().unwrap_or("no crossing");
        // the number line gives P*'s value or word; the caption only why (it repeated the bound)
        let what = match pa.p_star {
            Some(_) => "P*",
            None if tasks_to_come(history) => "no P* line yet",
            None => "no P* line",
        };
        ui.label(RichText::new(format!("{what}: {why}")).text_style(caption_style(ui)));
    }
    let mut run_points: Vec<RunPoint> = vec![];
    let mut mem_hit = vec![];
    let mut mem_never = vec![];
    let mut gen_hit = vec![];
    let mut gen_never = vec![];
    let mut delay_pts = vec![];
    let mut delay_open = vec![];
    // the runs trained in the window beside a folder's (a lesson's one width): ringed
    let here = history.trained_here();
    let mut here_pts = vec![];
    for &(i, r) in &rs {
        let Some(x) = log10_of(r.params as f64) else {
            continue;
        };
        let first = run_points.len();
        match r.t_mem.and_then(|t| log10_of(t as f64)) {
            Some(y) => mem_hit.push([x, y]),
            // a little above the never-generalised marker, so both show
            None => mem_never.push([x, top_mem]),
        }
        match r.t_gen.and_then(|t| log10_of(t as f64)) {
            Some(y) => gen_hit.push([x, y]),
            None => gen_never.push([x, top_gen]),
        }
        let yg = r.t_gen.and_then(|t| log10_of(t as f64)).unwrap_or(top_gen);
        run_points.push((i, x, yg));
        if let Some(d) = r.delay {
            let y = log10_of(d as f64).unwrap_or(0.0);
            if r.delay_is_lower_bound() {
                delay_open.push([x, y]);
            } else {
                delay_pts.push([x, y]);
            }
            run_points.push((i, x, y));
        }
        let ym = r.t_mem.and_then(|t| log10_of(t as f64)).unwrap_or(top_mem);
        run_points.push((i, x, ym));
        if here.contains(&i) {
            here_pts.extend(run_points[first..].iter().map(|&(_, x, y)| [x, y]));
        }
    }
    // neighbouring sizes of one regime share one shaded cell (one label, not one per size), as the
    // exported figure's
    let spans = regime_spans(pa, &of_p);
    let plot = log_plot("capacity_crossing", "parameters P", "epochs");
    // the key above the plot, so no legend box covers the runs (the regimes are named in their
    // cells), with each entry's own mark: egui_plot's legend drew every entry as a filled dot, the
    // hollow never-reached runs, the delays' diamonds and P*'s line alike (a helper's audit). In the
    // window a click on an entry hides its marks, as a legend's does.
    view.rings.clone_from(&here_pts);
    let ring = ui.visuals().strong_text_color();
    let mut entries = crossing_key(pa, &mem_never, &gen_never, &delay_pts, &delay_open);
    if !here_pts.is_empty() {
        entries.push(KeyEntry::new(TRAINED_HERE_NAME, ring, Mark::Ring));
    }
    // the presenter's key is read, not clicked: all shows there (the window's choice is kept)
    let hidden = if look.presenting {
        key_rows(ui, &entries, look.line);
        Default::default()
    } else {
        crate::app::widgets::key::key_rows_toggling(ui, &entries, 1.0, &mut view.crossing_hidden);
        view.crossing_hidden.clone()
    };
    view.crossing_key = entries.into_iter().map(|e| e.name).collect();
    let shown = |name: &str| !hidden.contains(name);
    // Room above the runs that never reached a threshold (hollow, at most at `top_mem`) for the
    // regimes' labels, two lines at most, written from the plot's top edge: `label` pixels of the
    // plot's height `frame` (the space left here less the x axis), so `k = label / frame` of the
    // range.
    let line = ui.text_style_height(&egui::TextStyle::Body);
    let (label, frame) = (2.0 * line + 14.0, ui.available_height() - 2.0 * line - 12.0);
    let k = f64::from((label / frame.max(1.0)).clamp(0.0, 0.5));
    let marks = top_mem;
    // from the decade below the lowest point (1 epoch only when a delay is 0: the axis always went
    // down to 1, leaving two empty decades under runs of hundreds of epochs; a researcher's audit)
    let lo = crossing_floor(run_points.iter().map(|p| p.2));
    // with the range [lo, m + e] the labels need e / (m - lo + e) >= k: e = k (m - lo) / (1 - k)
    let mut plot = plot
        .include_y(lo)
        .include_y(marks + k * (marks - lo) / (1.0 - k));
    // the regime cells reach past the smallest and largest P: keep those runs off the plot's edges
    if let (Some(first), Some(last)) = (spans.first(), spans.last()) {
        plot = plot.include_x(first.0).include_x(last.1);
    }
    let resp = plot.show(ui, |pui| {
        for (lo, hi, regime) in &spans {
            // unnamed, so that egui_plot does not cut its label to the cell ("immediate
            // generalis…"): `regime_label` writes it whole once the plot is laid out (the legend
            // then leaves the regimes to their cells)
            pui.add(
                Span::new("", *lo..=*hi)
                    // faint, under the runs, but still told apart at half size on a projector
                    // (at 0.08 a helper's audit could not)
                    .fill(rgb(regime_rgb(*regime)).gamma_multiply(0.14))
                    .border_width(0.0),
            );
        }
        if shown(T_MEM_NAME) {
            pui.line(
                // the mean line and the runs' points share a name: one key entry
                Line::new(T_MEM_NAME, PlotPoints::from(mean_line(pa, |s| &s.t_mem)))
                    .color(MEM)
                    .width(2.0),
            );
            pui.points(
                Points::new(T_MEM_NAME, PlotPoints::from(mem_hit))
                    .color(MEM)
                    .radius(3.0),
            );
        }
        if shown(T_GEN_NAME) {
            pui.line(
                Line::new(T_GEN_NAME, PlotPoints::from(mean_line(pa, |s| &s.t_gen)))
                    .color(GEN)
                    .width(2.0),
            );
            pui.points(
                Points::new(T_GEN_NAME, PlotPoints::from(gen_hit))
                    .color(GEN)
                    .radius(3.0),
            );
        }
        // the marks of runs that never reached a threshold, and the delays (open: lower bounds)
        for (name, pts, color, shape, filled, radius) in [
            (
                NEVER_MEM_NAME,
                mem_never,
                MEM,
                MarkerShape::Circle,
                false,
                5.0,
            ),
            (
                NEVER_GEN_NAME,
                gen_never,
                GEN,
                MarkerShape::Circle,
                false,
                5.0,
            ),
            ("delay", delay_pts, DELAY, MarkerShape::Diamond, true, 4.0),
            (
                DELAY_OPEN_NAME,
                delay_open,
                DELAY,
                MarkerShape::Diamond,
                false,
                5.0,
            ),
        ] {
            if shown(name) {
                pui.points(
                    Points::new(name, PlotPoints::from(pts))
                        .color(color)
                        .shape(shape)
                        .filled(filled)
                        .radius(radius),
                );
            }
        }
        if shown(TRAINED_HERE_NAME) {
            pui.points(
                Points::new(TRAINED_HERE_NAME, PlotPoints::from(here_pts.clone()))
                    .color(ring)
                    .shape(MarkerShape::Circle)
                    .filled(false)
                    .radius(8.0),
            );
        }
        // every crossing, one key entry: P* is the first; wider than the onset's dashes, as the
        // quantity the lab is about (green at 1.5 points was faint from the back of a room)
        for x in pa.p_star_all.iter().filter_map(|&p| log10_of(p)) {
            if shown("P*") {
                pui.vline(VLine::new("P*", x).color(P_STAR).width(2.5));
            }
        }
        if let Some(x) = pa
            .observed_onset
            .and_then(log10_of)
            .filter(|_| shown("observed onset"))
        {
            pui.vline(
                VLine::new("observed onset", x)
                    .color(ONSET)
                    .style(egui_plot::LineStyle::dashed_loose())
                    .width(1.5),
            );
        }
        clicked_run(pui, &run_points, &mut view.run_marks)
    });
    view.regime_labels = spans
        .iter()
        .filter_map(|(lo, hi, regime)| {
            regime_label(ui, &resp.transform, regime_name(*regime), (*lo, *hi))
        })
        .collect();
    if let Some(i) = resp.inner {
        action = CapacityAction::Select(Some(i));
    }
    action
}

/// A regime's name at the top of its cell `(lo, hi)` (log10 P), centred on the part in view: on one
/// line where it fits the cell, else a word a line. Painted over the plot once it is laid out: as a
/// plot item, its position would widen the plot's bounds, which place it, frame after frame.
fn regime_label(
    ui: &Ui,
    transform: &egui_plot::PlotTransform,
    name: &str,
    (lo, hi): (f64, f64),
) -> Option<(String, egui::Rect)> {
    let bounds = transform.bounds();
    let (lo, hi) = (lo.max(bounds.min()[0]), hi.min(bounds.max()[0]));
    if lo >= hi {
        return None;
    }
    let top = bounds.max()[1];
    let left = transform.position_from_point(&PlotPoint::new(lo, top));
    let right = transform.position_from_point(&PlotPoint::new(hi, top));
    let font = egui::TextStyle::Body.resolve(ui.style());
    let color = ui.visuals().text_color();
    let painter = ui.painter().with_clip_rect(*transform.frame());
    let mut text = name.to_string();
    let mut galley = painter.layout_no_wrap(text.clone(), font.clone(), color);
    if galley.size().x + 8.0 > right.x - left.x {
        text = name.replace(' ', "\n");
        galley = painter.layout(text.clone(), font, color, f32::INFINITY);
    }
    let at = egui::pos2((left.x + right.x - galley.size().x) / 2.0, left.y + 4.0);
    let rect = egui::Rect::from_min_size(at, galley.size());
    painter.galley(at, galley, color);
    Some((text, rect))
}

/// The crossing plot's key as the presenter view shows it above the plot: what is drawn, as drawn.
fn crossing_key(
    pa: &PrimeAnalysis,
    mem_never: &[[f64; 2]],
    gen_never: &[[f64; 2]],
    delays: &[[f64; 2]],
    delays_open: &[[f64; 2]],
) -> Vec<KeyEntry> {
    let mut k = vec![
        KeyEntry::new(T_MEM_NAME, MEM, Mark::LineAndPoint),
        KeyEntry::new(T_GEN_NAME, GEN, Mark::LineAndPoint),
    ];
    if !mem_never.is_empty() {
        k.push(KeyEntry::new(NEVER_MEM_NAME, MEM, Mark::Hollow));
    }
    if !gen_never.is_empty() {
        k.push(KeyEntry::new(NEVER_GEN_NAME, GEN, Mark::Hollow));
    }
    if !delays.is_empty() {
        k.push(KeyEntry::new("delay", DELAY, Mark::Diamond));
    }
    if !delays_open.is_empty() {
        k.push(KeyEntry::new(DELAY_OPEN_NAME, DELAY, Mark::HollowDiamond));
    }
    if pa.p_star.is_some() {
        k.push(KeyEntry::new("P*", P_STAR, Mark::VLine { dashed: false }));
    }
    if pa.observed_onset.is_some() {
        k.push(KeyEntry::new(
            "observed onset",
            ONSET,
            Mark::VLine { dashed: true },
        ));
    }
    k
}

/// Figure 2: memorised bits against n, one line per run, with n log2(p + 2).
fn bits_ui(ui: &mut Ui, history: &SweepHistory) {
    let rs: Vec<&TaskResult> = history
        .results()
        .iter()
        .filter(|r| !r.capacity.is_empty())
        .collect();
    let n_max = rs
        .iter()
        .flat_map(|r| r.capacity.iter().map(|c| c.n))
        .max()
        .unwrap_or(1) as f64;
    Plot::new("capacity_bits")
        .x_axis_label("random-label examples n")
        .y_axis_label("memorised bits")
        // the n·log2(p + 2) line rises to the top right and the runs stay below it: the top left is free
        .legend(Legend::default().position(Corner::LeftTop))
        .show(ui, |pui| {
            let mut primes: Vec<u32> = rs.iter().map(|r| r.p).collect();
            primes.sort_unstable();
            primes.dedup();
            for p in primes {
                let k = ((p + 2) as f64).log2();
                pui.line(
                    Line::new(
                        format!("n·log2({})", p + 2),
                        PlotPoints::from(vec![[0.0, 0.0], [n_max, n_max * k]]),
                    )
                    .color(Color32::GRAY)
                    .style(egui_plot::LineStyle::dashed_loose()),
                );
            }
            for (k, r) in rs.iter().enumerate() {
                let pts: Vec<[f64; 2]> = r.capacity.iter().map(|c| [c.n as f64, c.bits]).collect();
                let name = format!("P = {} (d = {}, seed {})", r.params, r.width, r.seed);
                // one colour for a run's line and its points (auto colours would differ)
                let color = RUN_COLORS[k % RUN_COLORS.len()];
                pui.line(
                    Line::new(name.clone(), PlotPoints::from(pts.clone()))
                        .color(color)
                        .width(1.5),
                );
                pui.points(
                    Points::new(name, PlotPoints::from(pts))
                        .color(color)
                        .radius(2.5),
                );
            }
        });
}

/// Figure 3: the largest memorised bits against P, with the fitted line of slope C; a size whose
/// largest bits came from a run the epoch cap stopped while improving, or from the largest n tried, is
/// a lower bound, drawn hollow (and C is then "≥").
fn capacity_ui(ui: &mut Ui, history: &SweepHistory) {
    let a = history.analysis();
    if a.points.iter().any(|c| c.lower_bound) {
        ui.label(
            RichText::new(
                "hollow: still rising (its best run hit the epoch cap while improving, or is at the \
                 largest n tried), so only a lower bound",
            )
            .text_style(caption_style(ui)),
        );
    }
    Plot::new("capacity_fit")
        .x_axis_label("parameters P")
        .y_axis_label("max memorised bits")
        .include_x(0.0)
        .include_y(0.0)
        // the fitted line rises to the top right, where the largest model's point sits
        .legend(Legend::default().position(Corner::RightBottom))
        .show(ui, |pui| {
            for (name, bound) in [
                ("mean max bits", false),
                ("mean max bits (lower bound)", true),
            ] {
                let pts: Vec<[f64; 2]> = a
                    .points
                    .iter()
                    .filter(|c| c.lower_bound == bound)
                    .map(|c| [c.params, c.max_bits])
                    .collect();
                if !pts.is_empty() {
                    pui.points(
                        Points::new(name, PlotPoints::from(pts))
                            .radius(4.0)
                            .filled(!bound)
                            .color(MEM),
                    );
                }
            }
            if let Some(f) = &a.fit {
                let x_max = a.points.iter().map(|c| c.params).fold(0.0, f64::max);
                let line = vec![[0.0, f.intercept], [x_max, f.intercept + f.slope * x_max]];
                let c = crate::export::labs::fit_c_text(f.slope, a, 2);
                pui.line(
                    Line::new(
                        format!("{c} bits/param, R² = {:.3}", f.r2),
                        PlotPoints::from(line),
                    )
                    .color(GEN),
                );
            }
        });
}

/// Figure 4: T_mem against f = S / (C P), with the exponential fit.
fn speed_ui(
    ui: &mut Ui,
    view: &mut CapacityView,
    history: &SweepHistory,
    prime: Option<u32>,
) -> CapacityAction {
    let a = history.analysis();
    let Some(pa) = a.primes.iter().find(|x| Some(x.p) == prime) else {
        return CapacityAction::None;
    };
    let f_of = |r: &TaskResult| capacity_fraction(r.complexity_bits, a.c, r.params as f64);
    let run_points: Vec<RunPoint> = history
        .results()
        .iter()
        .enumerate()
        .filter(|(_, r)| r.p == pa.p)
        .filter_map(|(i, r)| Some((i, f_of(r), log10_of(r.t_mem? as f64)?)))
        .collect();
    let pts: Vec<[f64; 2]> = run_points.iter().map(|&(_, x, y)| [x, y]).collect();
    let here = history.trained_here();
    let here_pts: Vec<[f64; 2]> = run_points
        .iter()
        .filter(|(i, ..)| here.contains(i))
        .map(|&(_, x, y)| [x, y])
        .collect();
    let ring = ui.visuals().strong_text_color();
    let never = history
        .results()
        .iter()
        .filter(|r| r.p == pa.p && r.t_mem.is_none())
        .count();
    ui.label(
        RichText::new(format!(
            "never memorised (not drawn): {never} · click a point for its run"
        ))
        .text_style(caption_style(ui)),
    );
    let resp = Plot::new("capacity_speed")
        .x_axis_label("f = S / (C P)")
        .y_axis_label("T_mem (epochs)")
        // f is a positive fraction: keep 0 in view rather than centring a lone point
        .include_x(0.0)
        .y_grid_spacer(log_marks)
        .y_axis_formatter(log_tick)
        // T_mem rises with f (bottom left to top right): the top left is clear (at the top right the
        // legend hid the largest f's point)
        .legend(Legend::default().position(Corner::LeftTop))
        .show(ui, |pui| {
            let (lo, hi) = pts
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), p| {
                    (l.min(p[0]), h.max(p[0]))
                });
            pui.points(
                Points::new("runs", PlotPoints::from(pts.clone()))
                    .radius(3.5)
                    .color(MEM),
            );
            if !here_pts.is_empty() {
                pui.points(
                    Points::new(TRAINED_HERE_NAME, PlotPoints::from(here_pts))
                        .color(ring)
                        .filled(false)
                        .radius(8.0),
                );
            }
            if let Some(fit) = &pa.exp_fit
                && lo.is_finite()
                && hi > lo
            {
                let curve: Vec<[f64; 2]> = (0..=50)
                    .filter_map(|k| {
                        let f = lo + (hi - lo) * k as f64 / 50.0;
                        Some([f, log10_of(fit.a * (fit.b * f).exp())?])
                    })
                    .collect();
                pui.line(
                    Line::new(
                        format!("a·exp(b·f), R² = {:.3}", fit.r2),
                        PlotPoints::from(curve),
                    )
                    .color(GEN),
                );
            }
            clicked_run(pui, &run_points, &mut view.run_marks)
        });
    match resp.inner {
        Some(i) => CapacityAction::Select(Some(i)),
        None => CapacityAction::None,
    }
}

/// Figure 5: predicted against observed onset, one point per prime, with y = x.
fn onsets_ui(ui: &mut Ui, history: &SweepHistory) {
    let a = history.analysis();
    let drawn: Vec<(u32, [f64; 2])> = a
        .primes
        .iter()
        .filter_map(|pa| Some((pa.p, [log10_of(pa.p_star?)?, log10_of(pa.observed_onset?)?])))
        .collect();
    let pts: Vec<[f64; 2]> = drawn.iter().map(|d| d.1).collect();
    // named by its primes, as the exported figure's points ("p = 31")
    let name = crate::export::labs::onsets_name(&drawn.iter().map(|d| d.0).collect::<Vec<_>>());
    let missing = a.primes.len() - pts.len();
    let primes = if pts.len() == 1 { "prime" } else { "primes" };
    // which primes lack an onset, and in words why (no P* without a crossing)
    let lacking: Vec<String> = a
        .primes
        .iter()
        .filter_map(|pa| {
            let mut why = vec![];
            if pa.p_star.is_none() {
                why.push(format!("P* = {}", p_star_text(pa, history)));
            }
            if pa.observed_onset.is_none() {
                why.push("no observed onset".to_string());
            }
            (!why.is_empty()).then(|| format!("p = {}: {}", pa.p, why.join(", ")))
        })
        .collect();
    let lacking = if lacking.is_empty() {
        String::new()
    } else {
        format!(" ({})", lacking.join("; "))
    };
    ui.label(
        RichText::new(format!(
            "{} {primes} with both onsets; {missing} lack one, not drawn{lacking}",
            pts.len()
        ))
        .text_style(caption_style(ui)),
    );
    let (lo, hi) = pts
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), p| {
            (l.min(p[0]).min(p[1]), h.max(p[0]).max(p[1]))
        });
    log_plot("capacity_onsets", "predicted onset P*", "observed onset")
        // y = x runs from the bottom left to the top right (the default corner, where the key sat on
        // the line): the top left is off it
        .legend(Legend::default().position(Corner::LeftTop))
        .show(ui, |pui| {
            if lo.is_finite() {
                let line = vec![[lo - 0.2, lo - 0.2], [hi + 0.2, hi + 0.2]];
                pui.line(Line::new("y = x", PlotPoints::from(line)).color(Color32::GRAY));
            }
            pui.points(
                Points::new(name, PlotPoints::from(pts))
                    .radius(4.0)
                    .color(ONSET),
            );
        });
}

/// Name of every finished task's lines in the tasks-in-flight plot (one legend entry for all).
pub const FINISHED_NAME: &str = "finished tasks";

/// Name of the lines of tasks a stop (or a failure) ended before they finished.
pub const STOPPED_NAME: &str = "stopped tasks";

/// Grey of finished tasks' lines; stopped ones are paler.
const FINISHED_GREY: Color32 = Color32::from_gray(110);
const STOPPED_GREY: Color32 = Color32::from_gray(170);

/// A line of the tasks-in-flight plot.
#[derive(Clone, Debug, PartialEq)]
pub struct FlightLine {
    /// Legend name: the task's width, run kind, seed and accuracy, or [`FINISHED_NAME`].
    pub name: String,
    /// (epoch, accuracy).
    pub points: Vec<PlotPoint>,
    pub color: Color32,
    pub style: egui_plot::LineStyle,
}

/// The lines of the tasks in flight: per task a colour of its own while it runs (grey once done); its
/// modular run gives validation (solid) and train (dashed) accuracy, its random-label run train
/// accuracy (dotted). Names read `w32 gen s0: val` (with `p23 ` in front when several primes fly).
pub fn flight_lines(curves: &[FlightCurve]) -> Vec<FlightLine> {
    let mut tasks = vec![];
    for c in curves {
        if !tasks.contains(&c.task) {
            tasks.push(c.task);
        }
    }
    let primes = curves.iter().any(|c| c.task.p != curves[0].task.p);
    let mut out = vec![];
    for c in curves {
        let k = tasks.iter().position(|t| *t == c.task).unwrap_or(0);
        let color = match (c.done, c.stopped) {
            (true, true) => STOPPED_GREY,
            (true, false) => FINISHED_GREY,
            (false, _) => RUN_COLORS[k % RUN_COLORS.len()],
        };
        let t = &c.task;
        let prefix = if primes {
            format!("p{} ", t.p)
        } else {
            String::new()
        };
        let name = |what: &str| {
            if c.stopped {
                STOPPED_NAME.to_string()
            } else if c.done {
                FINISHED_NAME.to_string()
            } else {
                format!("{prefix}w{} {} s{}: {what}", t.width, c.run, t.seed)
            }
        };
        let line = |what: &str, style, acc: &dyn Fn(&crate::protocol::TaskPoint) -> Option<f64>| {
            FlightLine {
                name: name(what),
                points: c
                    .points()
                    .filter_map(|p| Some(PlotPoint::new(p.epoch as f64, acc(p)?)))
                    .collect(),
                color,
                style,
            }
        };
        match c.run {
            TaskRun::Gen => {
                out.push(line("val", egui_plot::LineStyle::Solid, &|p| p.val_acc));
                out.push(line("train", egui_plot::LineStyle::dashed_dense(), &|p| {
                    Some(p.train_acc)
                }));
            }
            TaskRun::Mem => out.push(line("train", egui_plot::LineStyle::dotted_dense(), &|p| {
                Some(p.train_acc)
            })),
        }
    }
    out
}

/// The key of the tasks-in-flight plot: each line's name with a sample in its own colour and style
/// (egui_plot's legend drew a dot for each, so validation, train and random labels could not be told
/// apart); the grey lines of finished or stopped tasks once for each style, named for what they show.
pub fn flight_key(lines: &[FlightLine]) -> Vec<KeyEntry> {
    let mut entries: Vec<KeyEntry> = vec![];
    for l in lines {
        let name = if l.name == FINISHED_NAME || l.name == STOPPED_NAME {
            let what = match l.style {
                egui_plot::LineStyle::Solid => "val",
                egui_plot::LineStyle::Dashed { .. } => "train",
                egui_plot::LineStyle::Dotted { .. } => "random labels",
            };
            format!("{}: {what}", l.name)
        } else {
            l.name.clone()
        };
        if !entries.iter().any(|e| e.name == name) {
            entries.push(KeyEntry::new(name, l.color, Mark::Line(l.style)));
        }
    }
    entries
}

/// "Tasks in flight": the running tasks' accuracy against epochs as their points arrive, finished
/// ones greyed (and stopped ones paler), until the next sweep; tasks in their capacity runs say which
/// set they train and the bits memorised so far.
fn in_flight_ui(ui: &mut Ui, view: &mut CapacityView, history: &SweepHistory) {
    let curves = history.in_flight();
    let mut running = vec![];
    let mut stopped = vec![];
    let mut all = vec![];
    for c in curves {
        if !all.contains(&c.task) {
            all.push(c.task);
        }
        if !c.done && !running.contains(&c.task) {
            running.push(c.task);
        }
        if c.stopped && !stopped.contains(&c.task) {
            stopped.push(c.task);
        }
    }
    ui.label(RichText::new("Tasks in flight").strong());
    let stopped_text = if stopped.is_empty() {
        String::new()
    } else {
        format!(" · {} stopped (pale)", stopped.len())
    };
    ui.label(
        RichText::new(format!(
            "{} running · {} finished (grey){stopped_text} · modular task: validation solid, \
             train dashed · random labels: train dotted",
            running.len(),
            all.len() - running.len() - stopped.len(),
        ))
        .text_style(caption_style(ui)),
    );
    for c in history.capacity_runs() {
        let t = &c.task;
        ui.label(
            RichText::new(format!(
                "w{} s{} (p {}) capacity runs: {}",
                t.width,
                t.seed,
                t.p,
                c.text()
            ))
            .text_style(caption_style(ui)),
        );
    }
    let lines = flight_lines(curves);
    let look = crate::app::teach::presenter::Look::of(ui.ctx());
    key_rows(ui, &flight_key(&lines), look.line);
    // live tasks last, so they are drawn over the grey ones
    let (done, live): (Vec<&FlightLine>, Vec<&FlightLine>) = lines
        .iter()
        .partition(|l| l.name == FINISHED_NAME || l.name == STOPPED_NAME);
    Plot::new("capacity_in_flight_plot")
        .x_axis_label("epoch")
        .x_grid_spacer(uniform_grid_spacer(step_levels))
        .y_axis_label("accuracy")
        .include_x(0.0)
        .include_y(0.0)
        .include_y(1.0)
        .show(ui, |pui| {
            for l in done.into_iter().chain(live) {
                view.flight_lines.push((l.name.clone(), l.points.len()));
                pui.line(
                    Line::new(l.name.as_str(), PlotPoints::Borrowed(&l.points))
                        .color(l.color)
                        .style(l.style)
                        .width(1.5),
                );
            }
        });
}

/// The progress label of the panel: done/total, the capacity runs under way and the time left.
pub fn progress_text(history: &SweepHistory, threads: usize) -> String {
    progress_with(history, threads, false)
}

/// [`progress_text`] for the top bar, which has room for one short line (a longer text wrapped it at
/// 1280 points): "0/2 tasks · C set 3/5", "3/12 tasks · ~40 s left", "0/2 tasks · estimating".
pub fn progress_short(history: &SweepHistory, threads: usize) -> String {
    progress_with(history, threads, true)
}

fn progress_with(history: &SweepHistory, threads: usize, short: bool) -> String {
    let (done, total) = history.progress();
    // a sweep stopped (or failed) before its end has no time left: it says so instead
    if let Some(ended) = history.ended_early() {
        return format!("{done}/{total} tasks · {ended}");
    }
    // the capacity runs of a task in them (a minute and more with no task finishing)
    let capacity = match (history.capacity_runs(), short) {
        ([], _) => String::new(),
        ([c], false) => format!(" · capacity set {}/{}", c.set + 1, c.sets),
        ([c], true) => format!(" · C set {}/{}", c.set + 1, c.sets),
        (many, false) => format!(" · {} tasks in capacity runs", many.len()),
        (many, true) => format!(" · {} in C runs", many.len()),
    };
    let left = match history.eta_secs(threads) {
        Some(s) if done < total && short => format!(" · ~{} left", duration(s)),
        Some(s) if done < total => format!(" · about {} left", duration(s)),
        Some(_) | None if done >= total && total > 0 => String::new(),
        // the capacity runs say what moves until a first task gives an estimate
        Some(_) | None if short && !capacity.is_empty() => String::new(),
        Some(_) | None if short => " · estimating".to_string(),
        Some(_) | None => " · time left: estimating".to_string(),
    };
    let src = match history.source() {
        // the folder's name: its whole path is in the status line and the panel, and the top bar,
        // where this shows, has room for a short label only
        Source::Folder(f) => {
            let name = std::path::Path::new(f)
                .file_name()
                .map_or_else(|| f.clone(), |n| n.to_string_lossy().into_owned());
            // (a sweep the window saved is named for its time and preset: too long for the top bar,
            // and the panel names it)
            if short && name.chars().count() > 16 {
                " (from a folder)".to_string()
            } else {
                format!(" (from {name})")
            }
        }
        Source::Live(_) | Source::Empty => String::new(),
    };
    format!("{done}/{total} tasks{capacity}{left}{src}")
}

fn duration(s: f64) -> String {
    if s < 90.0 {
        format!("{s:.0} s")
    } else if s < 5400.0 {
        format!("{:.0} min", s / 60.0)
    } else {
        format!("{:.1} h", s / 3600.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::capacity_study::analyse;
    use crate::protocol::Outcome;
    use crate::store::sweep_dir::RESULT_VERSION;

    fn result(params: u64, t_gen: Option<u64>, delay: Option<u64>) -> TaskResult {
        TaskResult {
            version: RESULT_VERSION,
            key: "k".into(),
            width: params as usize,
            p: 23,
            seed: 0,
            params,
            n_equiv: 100,
            complexity_bits: crate::data::random_labels::complexity_bits(100, 23),
            t_train: t_gen,
            t_gen,
            delay,
            gen_epochs: 100,
            final_train_acc: None,
            final_val_acc: None,
            t_mem: None,
            mem_epochs: 100,
            mem_final_train_acc: None,
            capacity: vec![],
            wall_secs: 1.0,
            curves: Default::default(),
        }
    }

    /// The bundled sweep's (`assets/sweeps/cpu`) analysis and exported crossing figure.
    fn bundled_crossing() -> (
        crate::analysis::capacity_study::Analysis,
        crate::export::figure::Figure,
    ) {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/sweeps/cpu");
        let all = crate::store::sweep_dir::collect_results(&dir)
            .unwrap()
            .results;
        let a = analyse(&all);
        let figs = crate::export::labs::capacity_figures(&all, &[], &a);
        let crossing = figs.into_iter().find(|f| f.name == "crossing_p31").unwrap();
        (a, crossing)
    }

    /// The colour of the bundled sweep's exported crossing marker whose label starts with `marker`,
    /// and of the window's key entry `key` (the crossing plot's line), as the window draws it.
    fn marker_and_key_colours(marker: &str, key: &str) -> (Color32, Color32) {
        let (a, crossing) = bundled_crossing();
        let m = crossing
            .markers
            .iter()
            .find(|m| m.label.starts_with(marker))
            .unwrap_or_else(|| panic!("no marker {marker}"));
        let entries = crossing_key(&a.primes[0], &[], &[], &[], &[]);
        let entry = entries.iter().find(|e| e.name == key).unwrap();
        (rgb(m.color), entry.color)
    }

    /// The window's observed onset is the exported figure's colour (yellow here, red there: a
    /// researcher's audit). Expected: the crossing figure's onset marker, for the bundled sweep
    /// (`assets/sweeps/cpu`, observed onset 9328).
    #[test]
    fn the_observed_onset_is_the_exports_colour() {
        let (exported, window) = marker_and_key_colours("observed onset", "observed onset");
        assert_eq!(window, exported);
    }

    /// P* is one colour in the window and the export (white here, dark grey there: a reader did
    /// not recognise the same mark), and that colour reads on both grounds: WCAG's contrast ratio
    /// at least 3:1 (WCAG 1.4.11's floor for graphics) with the export's white paper and egui's
    /// dark plot and panel grounds. White fails on paper (1:1), dark grey [60, 60, 60] on the dark
    /// plot (about 1.8:1). Expected marker: the bundled sweep's (`assets/sweeps/cpu`, P* = 20636).
    #[test]
    fn p_star_is_the_exports_colour_and_reads_on_both_grounds() {
        let (exported, window) = marker_and_key_colours("P* = ", "P*");
        assert_eq!(window, exported);
        let dark = egui::Visuals::dark();
        for ground in [Color32::WHITE, dark.extreme_bg_color, dark.panel_fill] {
            let [r, g, b, _] = ground.to_array();
            let c =
                crate::export::figure::contrast_ratio(crate::export::labs::P_STAR_RGB, [r, g, b]);
            assert!(c >= 3.0, "P* on {ground:?}: contrast {c:.2}");
        }
    }

    #[test]
    fn regimes_come_from_the_runs() {
        use crate::export::labs::Regime;
        let rs = vec![
            result(10, None, None),
            result(100, Some(50), Some(0)),
            result(1000, Some(80), Some(30)),
            // learned its training set at epoch 30 and never generalised in 100 epochs: the spec's
            // delay (100 − 30) calls it grokking, the cell says what was seen
            TaskResult {
                t_train: Some(30),
                ..result(10_000, None, Some(70))
            },
        ];
        let a = analyse(&rs);
        let refs: Vec<&TaskResult> = rs.iter().collect();
        let spans = regime_spans(&a.primes[0], &refs);
        let regimes: Vec<Regime> = spans.iter().map(|s| s.2).collect();
        assert_eq!(
            regimes,
            [
                Regime::Underfitting,
                Regime::Immediate,
                Regime::Grokking,
                Regime::MemorisedOnly
            ]
        );
        // cells meet halfway in log10 P
        assert!((spans[0].1 - 1.5).abs() < 1e-12 && (spans[1].0 - 1.5).abs() < 1e-12);
        assert!((spans[1].1 - 2.5).abs() < 1e-12);
    }

    #[test]
    fn flight_lines_name_running_tasks_and_grey_finished_ones() {
        use crate::config::capacity::Task;
        use crate::protocol::TaskPoint;
        let mut h = SweepHistory::new();
        let point = |epoch, val_acc| TaskPoint {
            step: epoch,
            epoch,
            train_acc: 0.5,
            val_acc,
        };
        // task (w8, s0): a modular run of 2 points, one evaluated, then 3 random-label epochs; task
        // (w32, s1): 1 modular point
        let (a, b) = (
            Task {
                p: 23,
                width: 8,
                seed: 0,
            },
            Task {
                p: 23,
                width: 32,
                seed: 1,
            },
        );
        h.progress_points(a, TaskRun::Gen, &[point(1, Some(0.1)), point(2, None)]);
        h.progress_points(
            a,
            TaskRun::Mem,
            &[point(1, None), point(2, None), point(3, None)],
        );
        h.progress_points(b, TaskRun::Gen, &[point(1, Some(0.2))]);
        let summary = |h: &SweepHistory| -> Vec<(String, usize, bool)> {
            flight_lines(h.in_flight())
                .into_iter()
                .map(|l| (l.name, l.points.len(), l.color == Color32::from_gray(110)))
                .collect()
        };
        let s = |n: &str, k, grey| (n.to_string(), k, grey);
        // validation only where evaluated (1 of 2 points); train at every point
        assert_eq!(
            summary(&h),
            [
                s("w8 gen s0: val", 1, false),
                s("w8 gen s0: train", 2, false),
                s("w8 mem s0: train", 3, false),
                s("w32 gen s1: val", 1, false),
                s("w32 gen s1: train", 1, false),
            ]
        );
        // task a finishes: its lines go grey under one legend name
        h.push(result(8, None, None), 1, 2);
        assert_eq!(
            summary(&h),
            [
                s(FINISHED_NAME, 1, true),
                s(FINISHED_NAME, 2, true),
                s(FINISHED_NAME, 3, true),
                s("w32 gen s1: val", 1, false),
                s("w32 gen s1: train", 1, false),
            ]
        );
        // two primes in flight: names say which
        h.progress_points(Task { p: 31, ..b }, TaskRun::Mem, &[point(1, None)]);
        let names: Vec<String> = summary(&h).into_iter().map(|l| l.0).collect();
        assert_eq!(names[3], "p23 w32 gen s1: val");
        assert_eq!(names[5], "p31 w32 mem s1: train");
    }

    /// After a stop the label says "stopped" and gives no time left, and the curves of the task that
    /// was running are "stopped tasks", not "finished" (L1 of a researcher's audit: "8/10 tasks ·
    /// about 19 s left" stayed after Stop sweep); a completed sweep's curves are "finished". The key
    /// draws each entry in its line's style, the grey ones once per style (L3: a dot for each).
    /// Expected by construction: 1 of 3 tasks done, a second in flight.
    #[test]
    fn a_stopped_sweep_says_stopped_and_keys_its_lines_in_their_styles() {
        use crate::config::capacity::Task;
        use crate::protocol::TaskPoint;
        let task = |width| Task {
            p: 23,
            width,
            seed: 0,
        };
        let point = TaskPoint {
            step: 1,
            epoch: 1,
            train_acc: 0.5,
            val_acc: Some(0.2),
        };
        let history = |outcome: Outcome| {
            let mut h = SweepHistory::new();
            let mut cfg = crate::config::capacity::sweep_preset("tiny")
                .unwrap()
                .config;
            cfg.widths = vec![8, 16, 32];
            h.begin(1, cfg);
            h.progress_points(task(8), TaskRun::Gen, &[point]);
            h.push(result(8, None, None), 1, 3);
            h.progress_points(task(16), TaskRun::Gen, &[point]);
            h.progress_points(task(16), TaskRun::Mem, &[point]);
            h.finish(outcome);
            h
        };
        let stopped = history(Outcome::Stopped);
        assert_eq!(progress_text(&stopped, 1), "1/3 tasks · stopped");
        let names: Vec<String> = flight_lines(stopped.in_flight())
            .into_iter()
            .map(|l| l.name)
            .collect();
        assert_eq!(
            names,
            [
                FINISHED_NAME,
                FINISHED_NAME,
                STOPPED_NAME,
                STOPPED_NAME,
                STOPPED_NAME
            ]
        );
        let failed = history(Outcome::Failed {
            message: "x".into(),
        });
        assert_eq!(progress_text(&failed, 1), "1/3 tasks · failed");
        let done = history(Outcome::Completed);
        assert!(
            flight_lines(done.in_flight())
                .iter()
                .all(|l| l.name == FINISHED_NAME)
        );

        let key: Vec<(String, Mark)> = flight_key(&flight_lines(stopped.in_flight()))
            .into_iter()
            .map(|e| (e.name, e.mark))
            .collect();
        use egui_plot::LineStyle;
        let k = |n: &str, style| (n.to_string(), Mark::Line(style));
        assert_eq!(
            key,
            [
                k("finished tasks: val", LineStyle::Solid),
                k("finished tasks: train", LineStyle::dashed_dense()),
                k("stopped tasks: val", LineStyle::Solid),
                k("stopped tasks: train", LineStyle::dashed_dense()),
                k("stopped tasks: random labels", LineStyle::dotted_dense()),
            ]
        );
    }

    /// A task in its capacity runs shows in the progress label and reads its set and bits so far
    /// (M2 of a researcher's audit: "0/2 tasks · time left: estimating" for 60–90 s). Expected by
    /// construction.
    #[test]
    fn capacity_runs_show_their_set_and_bits() {
        use crate::analysis::capacity_study::CapacityPoint;
        use crate::store::capacity::CapacityRuns;
        let mut h = SweepHistory::new();
        h.load("dir".into(), vec![], Some(2), None);
        let task = crate::config::capacity::Task {
            p: 23,
            width: 4,
            seed: 0,
        };
        let point = CapacityPoint {
            n: 25,
            bits: 97.31,
            epochs: 300,
            saturated: true,
            train_acc_eval: 1.0,
        };
        let runs = CapacityRuns {
            task,
            set: 1,
            sets: 5,
            n: 100,
            epoch: 120,
            max_epochs: 2000,
            finished: vec![point],
        };
        assert_eq!(
            runs.text(),
            "set 2 of 5 (n = 100, epoch 120 of at most 2000); bits so far: 97.3 (n = 25)"
        );
        h.capacity_progress(runs);
        assert!(
            progress_text(&h, 1).starts_with("0/2 tasks · capacity set 2/5 · time left"),
            "{}",
            progress_text(&h, 1)
        );
        // the top bar's, short (no estimate before a first task: the set says what moves)
        assert_eq!(progress_short(&h, 1), "0/2 tasks · C set 2/5 (from dir)");
    }

    #[test]
    fn progress_says_what_is_left() {
        let mut h = SweepHistory::new();
        h.load("dir".into(), vec![result(10, None, None)], Some(3), None);
        let t = progress_text(&h, 1);
        assert!(t.starts_with("1/3 tasks · about 2 s left"), "{t}");
        h.load("dir".into(), vec![result(10, None, None)], None, None);
        assert_eq!(progress_text(&h, 1), "1/1 tasks (from dir)");
        h.load(
            "sweep-2026-12-07_16-51-53-tiny".into(),
            vec![],
            Some(8),
            None,
        );
        assert_eq!(
            progress_short(&h, 1),
            "0/8 tasks · estimating (from a folder)"
        );
        // a path: its last part
        h.load("/runs/sweeps/cpu".into(), vec![], Some(8), None);
        assert_eq!(
            progress_text(&h, 1),
            "0/8 tasks · time left: estimating (from cpu)"
        );
    }

    /// The crossing's epoch axis starts at the decade under its lowest point (L8 of a researcher's
    /// audit: it always went down to 1 epoch). Expected by hand: log10 of 150 is 2.18, so 10^2; a
    /// delay of 0 is drawn at log10 = 0, so 10^0; log10 of 100 is 2 exactly, its own decade.
    #[test]
    fn the_crossing_axis_starts_at_the_decade_under_its_lowest_point() {
        let logs = |v: &[f64]| v.iter().map(|x| x.log10()).collect::<Vec<_>>();
        assert_eq!(
            crossing_floor(logs(&[150.0, 900.0, 4000.0]).into_iter()),
            2.0
        );
        assert_eq!(crossing_floor([0.0, 2.5, 3.0].into_iter()), 0.0);
        assert_eq!(crossing_floor(logs(&[100.0, 700.0]).into_iter()), 2.0);
        assert_eq!(crossing_floor(std::iter::empty()), 0.0);
        assert_eq!(crossing_floor([f64::NAN, 3.4].into_iter()), 3.0);
    }
}
