//! The "Export figure" window: any plot of the lab shown, as PNG (screen resolution or a chosen DPI),
//! SVG or PDF at a chosen size, with its CSV and JSON sidecars.
//!
//! The figures come from [`crate::export::labs`], built from the same stores the lab's views draw, so
//! the window and `grokscope export` draw the same figure. The dialog and the writing run on a
//! [`Jobs`] thread; when no dialog can be shown, the window offers a typed path instead.

use super::dialog::FileDialog;
use super::jobs::{FigureDone, Jobs};
use super::labs::Lab;
use crate::export::figure::{Figure, FigureSize};
use crate::export::render::{DPI_LIMITS, ExportOptions, FigureFormat, SCREEN_DPI, file_stem};
use eframe::egui::{self, RichText};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

/// The figures a lab can export now, and the config(s) behind them (the JSON sidecar's `config`).
#[derive(Clone, Debug, Default)]
pub struct FigureSet {
    pub figures: Vec<Figure>,
    pub config: serde_json::Value,
}

/// What the window shows between frames.
#[derive(Debug)]
pub struct FigureExport {
    /// Whether the window is open.
    pub open: bool,
    /// The chosen figure's name.
    figure: Option<String>,
    /// The lab whose figures the window shows, and the figure chosen in each other lab (a tab
    /// changed and changed back opened on the lab's first figure, whatever was chosen there).
    lab: Option<Lab>,
    chosen: HashMap<Lab, String>,
    format: FigureFormat,
    /// PNG at screen resolution (96 DPI) or at `dpi`.
    screen: bool,
    dpi: f64,
    size: FigureSize,
    /// The typed-path fallback, offered when no dialog answered.
    typed: Option<String>,
    /// The last result, for the window's own line (the status bar says it too).
    last: Option<Result<String, String>>,
    /// An export is under way.
    busy: bool,
}

impl Default for FigureExport {
    fn default() -> Self {
        Self {
            open: false,
            figure: None,
            lab: None,
            chosen: HashMap::new(),
            format: FigureFormat::Pdf,
            screen: false,
            dpi: 300.0,
            size: FigureSize::default(),
            typed: None,
            last: None,
            busy: false,
        }
    }
}

/// What the window asks the app to do.
#[derive(Debug)]
pub enum FigureRequest {
    /// Nothing this frame.
    None,
    /// Export; a message for the status bar.
    Started(String),
    /// Could not start; why.
    Failed(String),
}

impl FigureExport {
    fn options(&self) -> ExportOptions {
        ExportOptions {
            format: self.format,
            size: self.size,
            dpi: if self.screen { SCREEN_DPI } else { self.dpi },
        }
    }

    /// Open the window, without the line of an export made before it was closed (it stayed, and
    /// read as said of the figure now chosen; a researcher's audit, L2).
    pub fn open_window(&mut self) {
        self.open = true;
        self.last = None;
    }

    /// Show `lab`'s figures: the figure chosen there before comes back (its first otherwise).
    fn follow_lab(&mut self, lab: Lab) {
        if self.lab == Some(lab) {
            return;
        }
        if let (Some(was), Some(name)) = (self.lab, self.figure.take()) {
            self.chosen.insert(was, name);
        }
        self.figure = self.chosen.get(&lab).cloned();
        self.lab = Some(lab);
    }

    /// Take a finished export's result; returns the status line for the app.
    pub fn done(&mut self, done: FigureDone) -> Result<String, String> {
        self.busy = false;
        let r = match done {
            FigureDone::NoPath { default_name } => {
                let text = std::env::current_dir()
                    .map(|d| d.join(&default_name))
                    .unwrap_or_else(|_| PathBuf::from(&default_name));
                self.typed = Some(text.display().to_string());
                // asked for, not a failure (an error's red stayed after the typed path was saved)
                Ok("no file chosen (or no file dialog available): type a path in the Export figure \
                    window"
                    .to_string())
            }
            FigureDone::Written(Ok(files)) => {
                self.typed = None;
                Ok(format!(
                    "saved the figure to {} (with {} and {})",
                    files.figure.display(),
                    files.csv.display(),
                    files.json.display()
                ))
            }
            FigureDone::Written(Err(e)) => Err(format!("figure export failed: {e}")),
        };
        self.last = Some(r.clone());
        r
    }

    /// The window, when open, first at `at` (its top centre). `set` is the shown lab's figures now.
    pub fn window_ui(
        &mut self,
        ctx: &egui::Context,
        at: egui::Pos2,
        (lab, set): (Lab, &FigureSet),
        jobs: &mut Jobs,
        dialog: &Arc<dyn FileDialog>,
    ) -> FigureRequest {
        self.follow_lab(lab);
        let mut request = FigureRequest::None;
        let mut open = self.open;
        egui::Window::new("Export figure")
            .open(&mut open)
            .pivot(egui::Align2::CENTER_TOP)
            .default_pos(at)
            .resizable(false)
            .collapsible(false)
            .show(ctx, |ui| {
                request = self.body_ui(ui, set, jobs, dialog);
            });
        self.open = open;
        request
    }

    fn body_ui(
        &mut self,
        ui: &mut egui::Ui,
        set: &FigureSet,
        jobs: &mut Jobs,
        dialog: &Arc<dyn FileDialog>,
    ) -> FigureRequest {
        if set.figures.is_empty() {
            ui.label(RichText::new("Nothing to export yet: this lab has no data.").weak());
            return FigureRequest::None;
        }
        if !self
            .figure
            .as_ref()
            .is_some_and(|n| set.figures.iter().any(|f| &f.name == n))
        {
            self.figure = set.figures.first().map(|f| f.name.clone());
        }
        let mut request = FigureRequest::None;
        egui::Grid::new("figure_export_grid")
            .num_columns(2)
            .spacing([10.0, 6.0])
            .show(ui, |ui| {
                ui.label("Figure");
                let shown = set
                    .figures
                    .iter()
                    .find(|f| Some(&f.name) == self.figure.as_ref())
                    .map_or(String::new(), |f| f.title.clone());
                egui::ComboBox::from_id_salt("figure_export_pick")
                    .selected_text(shown)
                    .width(300.0)
                    .show_ui(ui, |ui| {
                        for f in &set.figures {
                            ui.selectable_value(&mut self.figure, Some(f.name.clone()), &f.title);
                        }
                    });
                ui.end_row();
                ui.label("Format");
                ui.horizontal(|ui| {
                    for f in FigureFormat::ALL {
                        ui.radio_value(&mut self.format, f, f.extension().to_uppercase());
                    }
                });
                ui.end_row();
                if self.format == FigureFormat::Png {
                    ui.label("Resolution");
                    ui.horizontal(|ui| {
                        ui.radio_value(&mut self.screen, true, "screen (96 DPI)");
                        ui.radio_value(&mut self.screen, false, "DPI");
                        ui.add_enabled(
                            !self.screen,
                            egui::DragValue::new(&mut self.dpi)
                                .range(DPI_LIMITS.0..=DPI_LIMITS.1)
                                .speed(5.0),
                        );
                    });
                    ui.end_row();
                }
                ui.label("Size (inches)");
                ui.horizontal(|ui| {
                    let (lo, hi) = FigureSize::LIMITS_IN;
                    ui.add(
                        egui::DragValue::new(&mut self.size.width_in)
                            .range(lo..=hi)
                            .speed(0.05)
                            .max_decimals(2),
                    );
                    ui.label("×");
                    ui.add(
                        egui::DragValue::new(&mut self.size.height_in)
                            .range(lo..=hi)
                            .speed(0.05)
                            .max_decimals(2),
                    );
                    if ui
                        .small_button("one column")
                        .on_hover_text("3.5 × 2.8 in")
                        .clicked()
                    {
                        self.size = FigureSize::default();
                    }
                    if ui
                        .small_button("two columns")
                        .on_hover_text("7 × 3.5 in")
                        .clicked()
                    {
                        self.size = FigureSize {
                            width_in: 7.0,
                            height_in: 3.5,
                        };
                    }
                });
                ui.end_row();
            });
        let opts = self.options();
        if opts.format == FigureFormat::Png {
            let (w, h) = opts.pixel_size();
            ui.label(RichText::new(format!("{w} × {h} pixels")).weak());
        }
        ui.label(
            RichText::new(
                "Beside the figure: FILE.csv (the plotted points) and FILE.json (the config).",
            )
            .weak(),
        );
        let Some(fig) = set
            .figures
            .iter()
            .find(|f| Some(&f.name) == self.figure.as_ref())
        else {
            return request;
        };
        let default_name = format!("{}.{}", file_stem(&fig.name), opts.format.extension());
        ui.horizontal(|ui| {
            if ui
                .add_enabled(!self.busy, egui::Button::new("Export…"))
                .clicked()
            {
                request = self.start(
                    jobs,
                    Some(Arc::clone(dialog)),
                    None,
                    fig,
                    set,
                    &default_name,
                );
            }
            if self.busy {
                ui.spinner();
            }
        });
        if let Some(text) = &mut self.typed {
            let mut go = false;
            ui.horizontal(|ui| {
                ui.label("Save to:");
                let r = ui.add(egui::TextEdit::singleline(text).desired_width(320.0));
                // one export at a time: the writer's temporary file is per target
                go = !self.busy && r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                go |= ui
                    .add_enabled(!self.busy, egui::Button::new("Save"))
                    .clicked();
            });
            if go {
                let path = PathBuf::from(text.trim());
                if path.as_os_str().is_empty() {
                    return FigureRequest::Failed("type a file path first".into());
                }
                request = self.start(jobs, None, Some(path), fig, set, &default_name);
            }
        }
        match &self.last {
            Some(Ok(m)) => {
                ui.label(RichText::new(m).weak());
            }
            Some(Err(m)) => {
                ui.label(RichText::new(m).color(ui.visuals().warn_fg_color));
            }
            None => {}
        }
        request
    }

    fn start(
        &mut self,
        jobs: &mut Jobs,
        dialog: Option<Arc<dyn FileDialog>>,
        path: Option<PathBuf>,
        fig: &Figure,
        set: &FigureSet,
        default_name: &str,
    ) -> FigureRequest {
        let opts = self.options();
        if let Err(e) = opts.check() {
            return FigureRequest::Failed(format!("figure export: {e}"));
        }
        match jobs.export_figure(
            dialog,
            path,
            default_name.to_string(),
            Box::new(fig.clone()),
            opts,
            set.config.clone(),
        ) {
            Ok(()) => {
                self.busy = true;
                self.last = None;
                FigureRequest::Started(format!("exporting {}…", fig.title))
            }
            Err(e) => FigureRequest::Failed(format!("cannot start the figure export: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::app::labs::capacity::figures::capacity_set;
    use crate::app::labs::grokking::figures::grokking_set;
    use crate::app::labs::ordering::figures::ordering_set;
    use crate::config::ordering::{OrderingTask, Scheme, StudyKind, default_study};
    use crate::export::labs;
    use crate::protocol::{OrderMethod, StudyRow};
    use crate::store::capacity::SweepHistory;
    use crate::store::{OrderingHistory, RunHistory, StudyHistory};

    /// The window opens without the line of the last export, and each lab keeps its chosen figure
    /// across a change of tab (a researcher's audit, L2). Expected by construction.
    #[test]
    fn the_window_reopens_clean_and_keeps_each_labs_figure() {
        use super::{FigureExport, Lab};
        use crate::app::jobs::FigureDone;
        let mut w = FigureExport::default();
        w.open_window();
        let said = w.done(FigureDone::Written(Err("disk full".into())));
        assert!(said.is_err() && w.last.is_some());
        w.open = false;
        w.open_window();
        assert!(w.last.is_none());

        w.follow_lab(Lab::Capacity);
        w.figure = Some("memorised_bits".into());
        w.follow_lab(Lab::Grokking);
        assert_eq!(w.figure, None, "another lab starts on its own first figure");
        w.figure = Some("loss".into());
        w.follow_lab(Lab::Capacity);
        assert_eq!(w.figure.as_deref(), Some("memorised_bits"));
        w.follow_lab(Lab::Grokking);
        assert_eq!(w.figure.as_deref(), Some("loss"));
    }

    #[test]
    fn empty_stores_offer_nothing() {
        assert!(grokking_set(&RunHistory::new(), false).figures.is_empty());
        assert!(capacity_set(&SweepHistory::new()).figures.is_empty());
        let set = ordering_set(&OrderingHistory::new(), &StudyHistory::new(), None);
        assert!(set.figures.is_empty());
    }

    #[test]
    fn a_study_in_the_window_gives_the_cli_figure() {
        let cfg = default_study(OrderingTask::Sine, StudyKind::Sparsity);
        let mut study = StudyHistory::new();
        study.begin(1, cfg.clone());
        let row = |scheme, d| StudyRow {
            scheme,
            param: 0.5,
            sparsity: 0.5,
            hidden: 8,
            its: 1,
            seed: 0,
            d,
            method: OrderMethod::Exact,
            final_loss: 0.1,
            d_null: None,
        };
        study.push(row(Scheme::TopK, 0.8), 1, 2);
        study.push(row(Scheme::TopK, 0.9), 2, 2);
        let set = ordering_set(&OrderingHistory::new(), &study, None);
        // the same function `grokscope export` calls on the study's study.csv
        let want =
            labs::ordering_study_figures(cfg.kind, &cfg.base.task.to_string(), study.stats());
        assert_eq!(set.figures, want);
        assert_eq!(set.figures[0].name, "d_vs_sparsity");
        assert_eq!(set.config["study"]["kind"], serde_json::json!("sparsity"));
    }
}
