//! The phase diagram panel ("when does grokking happen"): the cells of a phase study filling in as its
//! runs finish, each coloured by the class of most of its seeds with the mean delay written in it;
//! clicking a cell hands back its runs. A pure view: [`PhaseViewState`] accumulates the study's
//! `PhaseTask` events, [`phase_view`] draws it and returns what was clicked.

use crate::analysis::phase::{Outcome, PhaseCellResult, PhaseRun, phase_cells};
use crate::app::widgets::key::{KeyEntry, Mark};
use crate::config::PhaseStudyConfig;
use crate::config::RunConfig;
use crate::config::phase::PhaseCell;
use crate::export::labs::{outcome_rgb, phase_cell_text};
use crate::protocol::{Event, GrokkingEvent, LabEvent, RunId};
use eframe::egui;

/// What the panel shows: the study's config and its finished runs.
#[derive(Clone, Debug, Default)]
pub struct PhaseViewState {
    /// The study being shown (from its `Started` event, or set by the caller for a study opened from
    /// a folder); `None`: nothing to show yet.
    pub config: Option<PhaseStudyConfig>,
    /// The run id of the study whose events are taken.
    pub run: Option<RunId>,
    /// Its finished runs, in arrival order.
    pub runs: Vec<PhaseRun>,
    /// Which width's grid is shown (an index into the widths axis; 0 without one).
    pub width_index: usize,
    /// Runs finished in the session and how many it runs (the latest `PhaseTask`'s `done`, `total`).
    pub progress: (usize, usize),
    /// The folder it was opened from (its runs are all it has: a study training meanwhile adds none).
    pub folder: Option<std::path::PathBuf>,
    cells: Vec<PhaseCellResult>,
}

impl PhaseViewState {
    /// A state showing `config` with the runs already finished (a study opened from its folder).
    pub fn new(config: PhaseStudyConfig, runs: Vec<PhaseRun>) -> Self {
        let mut s = Self {
            config: Some(config),
            runs,
            ..Self::default()
        };
        s.refresh();
        s
    }

    /// A finished study read from its folder `dir`: its config and the results found there.
    pub fn opened(dir: std::path::PathBuf, config: PhaseStudyConfig, runs: Vec<PhaseRun>) -> Self {
        let total = config.task_count();
        let mut s = Self::new(config, runs);
        s.progress = (s.runs.len(), total);
        s.folder = Some(dir);
        s
    }

    /// Take an event: a phase study's `Started` resets the state to it; its `PhaseTask` events add
    /// their runs (not to a study opened from its folder); everything else is ignored. Returns
    /// whether the state changed.
    pub fn observe(&mut self, ev: &Event) -> bool {
        match ev {
            Event::Started { run, config, .. } => {
                let RunConfig::PhaseStudy(cfg) = config.as_ref() else {
                    return false;
                };
                *self = Self {
                    config: Some(cfg.clone()),
                    run: Some(*run),
                    ..Self::default()
                };
                self.refresh();
                true
            }
            Event::Lab {
                run,
                payload:
                    LabEvent::Grokking(GrokkingEvent::PhaseTask {
                        result,
                        done,
                        total,
                    }),
            } if self.folder.is_none() && self.run.is_none_or(|r| r == *run) => {
                self.runs.push((**result).clone());
                self.progress = (*done, *total);
                self.refresh();
                true
            }
            Event::Lab { .. }
            | Event::Metrics { .. }
            | Event::Progress { .. }
            | Event::Changed { .. }
            | Event::Paused { .. }
            | Event::Refused { .. }
            | Event::Note { .. }
            | Event::Saved { .. }
            | Event::Finished { .. } => false,
        }
    }

    fn refresh(&mut self) {
        self.cells = match &self.config {
            Some(cfg) => phase_cells(cfg, &self.runs),
            None => vec![],
        };
    }

    /// The cells with their runs and summaries, in the study's task order.
    pub fn cells(&self) -> &[PhaseCellResult] {
        &self.cells
    }

    /// The finished runs of a cell, in seed order.
    pub fn runs_of(&self, cell: PhaseCell) -> Vec<&PhaseRun> {
        let mut v: Vec<&PhaseRun> = self.runs.iter().filter(|r| r.task.cell() == cell).collect();
        v.sort_by_key(|r| r.task.seed);
        v
    }
}

/// A clicked cell and its finished runs (each with its config, so it can be re-run, and its folder
/// inside the study folder when the study kept its runs).
#[derive(Clone, Debug, PartialEq)]
#[must_use]
pub struct PhaseClick {
    pub cell: PhaseCell,
    pub runs: Vec<PhaseRun>,
}

/// The text (and accessible label) of a cell's button: `wd 1, train 0.5: grokking, delay 120 (2/2)`.
pub fn cell_label(c: &PhaseCellResult, seeds: usize) -> String {
    let class = c
        .summary
        .outcome
        .map_or_else(|| "pending".to_string(), |o| o.to_string());
    // the cell writes its delay where most runs generalised; its label also where fewer did
    let generalised = c.summary.counts[Outcome::Grokking as usize]
        + c.summary.counts[Outcome::Comprehension as usize];
    let written = phase_cell_text(c);
    let delay = match c.summary.mean_delay {
        None => String::new(),
        Some(_) if !written.is_empty() => format!(", delay {written}"),
        Some(d) => format!(", {generalised} generalised with delay {d:.0}"),
    };
    format!(
        "wd {}, train {}: {class}{delay} ({}/{seeds})",
        c.weight_decay,
        c.train_fraction,
        c.runs.len()
    )
}

fn color(rgb: [u8; 3]) -> egui::Color32 {
    egui::Color32::from_rgb(rgb[0], rgb[1], rgb[2])
}

/// Draw the phase diagram: a grid of cells (weight decay across, train fraction up), a legend, and
/// the progress. Returns the cell clicked this frame, with its runs. `below_rows`: rows of buttons the
/// caller draws under it (the clicked cell's runs), for which the cells leave room.
pub fn phase_view(
    ui: &mut egui::Ui,
    state: &PhaseViewState,
    below_rows: usize,
) -> Option<PhaseClick> {
    let Some(cfg) = &state.config else {
        ui.label("No phase study yet: start one, or open a study folder.");
        return None;
    };
    let widths = cfg.width_axis();
    let wi = state.width_index.min(widths.len().saturating_sub(1));
    let width_index = widths.get(wi).copied().flatten().map(|_| wi);
    let width = widths
        .get(wi)
        .copied()
        .flatten()
        .unwrap_or_else(|| cfg.base_width());
    let total = cfg.task_count();
    ui.label(format!(
        "Phase diagram: {} on a {} b mod {}, width {width}; {} of {total} runs finished",
        cfg.base.model.name(),
        cfg.base.op,
        cfg.base.p,
        state.runs.len()
    ));
    let mut tf_order: Vec<usize> = (0..cfg.train_fractions.len()).collect();
    tf_order.sort_by(|&a, &b| cfg.train_fractions[b].total_cmp(&cfg.train_fractions[a]));
    let mut clicked = None;
    // cells grow with the room, across and down (the presenter view gives a small study's map the
    // whole centre): what the labels and legend below it leave of the height
    // the values' column is narrow ("0.75"): its title stands above the grid, where in the grid's
    // first column it made that column 90 points wide, and six columns of cells at least 44 wide
    // then widened the side panel over the plots at 1280 x 800 (a helper's audit)
    let cell_w = ((ui.available_width() - 48.0) / cfg.weight_decays.len().max(1) as f32 - 2.0)
        .clamp(30.0, 320.0);
    let below = 5.0 * ui.text_style_height(&egui::TextStyle::Body)
        + below_rows as f32 * (ui.spacing().interact_size.y + ui.spacing().item_spacing.y)
        + 24.0;
    let down = (ui.available_height() - below) / cfg.train_fractions.len().max(1) as f32 - 2.0;
    let cell_h = if down.is_finite() {
        down.clamp(28.0, (cell_w * 0.6).max(28.0))
    } else {
        (cell_w * 0.55).clamp(28.0, 70.0)
    };
    let cell_size = egui::vec2(cell_w, cell_h);
    let body = egui::TextStyle::Body.resolve(ui.style()).size;
    ui.label("train fraction");
    // keyed by its shape and cell width: a grid keeps its columns' widths between frames, and the
    // tiny study's two wide columns, kept for the first of the 6 x 6 study's six, widened the side
    // panel for good (a panel grows to its content and never shrinks back)
    egui::Grid::new(("phase-grid", cfg.weight_decays.len(), cell_w.round() as i32))
        .spacing([2.0, 2.0])
        .show(ui, |ui| {
            for &tf in &tf_order {
                ui.label(cfg.train_fractions[tf].to_string());
                for wd in 0..cfg.weight_decays.len() {
                    let cell = PhaseCell {
                        wd_index: wd,
                        tf_index: tf,
                        width_index,
                    };
                    let Some(c) = state.cells.iter().find(|c| c.cell == cell) else {
                        ui.label("");
                        continue;
                    };
                    let fill = c
                        .summary
                        .outcome
                        .map_or(egui::Color32::from_gray(60), |o| color(outcome_rgb(o)));
                    // the delay in type that grows with the cell (a third of its height, from the
                    // body's size): a large map is read from afar
                    let text = egui::RichText::new(phase_cell_text(c))
                        .color(egui::Color32::WHITE)
                        .size((cell_size.y / 3.0).max(body));
                    let button = egui::Button::new(text).fill(fill).min_size(cell_size);
                    let label = cell_label(c, cfg.seeds.len());
                    let response = ui.add(button).on_hover_text(&label);
                    response.widget_info(|| {
                        egui::WidgetInfo::labeled(egui::Role::Button, true, &label)
                    });
                    if response.clicked() {
                        clicked = Some(PhaseClick {
                            cell,
                            runs: state.runs_of(cell).into_iter().cloned().collect(),
                        });
                    }
                }
                ui.end_row();
            }
            ui.label("");
            // each value under the middle of its column (at a cell's left edge, "3" read as the
            // boundary between two cells)
            let label_h = ui.text_style_height(&egui::TextStyle::Body);
            for wd in &cfg.weight_decays {
                ui.add_sized([cell_w, label_h], egui::Label::new(wd.to_string()));
            }
            ui.end_row();
        });
    ui.label("weight decay");
    // each class's swatch and name kept together (a name that does not fit goes to the next row
    // with its swatch)
    let entries: Vec<KeyEntry> = crate::analysis::phase::Outcome::ALL
        .into_iter()
        .map(|o| KeyEntry::new(o.to_string(), color(outcome_rgb(o)), Mark::Swatch))
        .collect();
    crate::app::widgets::key::key_rows_body(ui, &entries, 1.0);
    ui.label("Number in a cell: mean delay (epochs) of the runs that generalised, where most did.");
    clicked
}
