//! [`GrokscopeApp`]: the window's shell. It holds the labs (one slot each, see [`super::labs`]), draws
//! the tabs, the top bar and the status bar, hands each frame's panels to the lab shown, drains the
//! workers' events and applies the actions the views return. It knows no lab by name.

use super::actions::Action;
use super::backend::{Backend, Unattached};
use super::dialog::FileDialog;
use super::figure_export::{FigureExport, FigureRequest, FigureSet};
use super::jobs::{JobDone, Jobs};
use super::labs::grokking::run_files::{in_temporary_folder, keep_temporary_run};
use super::labs::{Controls, Counter, Lab, LabCtx, LabSetup, LabSlot, TASKS_CANNOT_PAUSE};
use super::link::{Phase, Status};
use super::meters::FrameTimer;
use super::teach::notes::notes_window;
use super::teach::panels::paint_highlight;
use super::teach::player::LessonPlayer;
use super::teach::presenter::{
    LessonCmd, Look, Presenter, blank_ui, keys, lesson_bar_ui, lesson_text_ui,
};
use super::teach::scene::{Scene, load_lesson};
use super::teach::window::{FileUse, LessonsWindow, WindowCmd};
use super::widgets::form::{error_color, group_digits};
use crate::config::FieldProblem;
use anyhow::Context as _;
use eframe::egui::{self, Color32, Key, Modifiers, RichText, Ui};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Oldest the Export figure window's figures may be before they are built again.
const FIGURE_SET_MAX_AGE: Duration = Duration::from_millis(500);

/// Longest time one frame spends taking events from the workers; the rest wait for the next frame.
const DRAIN_BUDGET: Duration = Duration::from_millis(4);

/// The speed control.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Speed {
    limited: bool,
    steps_per_sec: f64,
}

impl Speed {
    fn command(self) -> Option<f64> {
        self.limited.then_some(self.steps_per_sec)
    }

    /// Set to `limit` (`None`: flat out; the slider keeps its value for the next tick).
    fn set(&mut self, limit: Option<f64>) {
        self.limited = limit.is_some();
        if let Some(l) = limit {
            self.steps_per_sec = l;
        }
    }
}

/// The grokscope window.
pub struct GrokscopeApp {
    ctx: egui::Context,
    dialog: Arc<dyn FileDialog>,
    /// The labs in tab order; each has its own worker, so a run of one goes on while another is shown.
    labs: Vec<Box<dyn LabSlot>>,
    /// Index of the lab shown.
    shown: usize,
    /// Each lab's speed limit (by index in `labs`): the top bar shows the shown lab's.
    speeds: Vec<Speed>,
    /// The speed limit of a scene being opened and the index of its lab, applied once its run is back.
    scene_speed: Option<(usize, Option<f64>)>,
    /// Each lab's speed limit as the lesson playing found it, given back when it ends (a lesson's
    /// `speed` of 20 steps a second was left on the window: a helper's audit).
    lesson_speeds: Option<Vec<Speed>>,
    /// The labs the last lesson used, by index, with their run trackers' markers as it ended: a lab
    /// whose marker is the same when the next lesson plays still shows the last lesson's run.
    lesson_left: Vec<(usize, super::link::RunMarker)>,
    frames: FrameTimer,
    /// The figure exports' dialogs and writes.
    jobs: Jobs,
    /// The Export figure window (any plot of the lab shown as PNG/SVG/PDF).
    figure_export: FigureExport,
    /// The figures the Export figure window offers, with the lab and time they were built for.
    figure_sets: Option<(Lab, Instant, FigureSet)>,
    /// Where the windows (Export figure, Lessons) first open: centred under the top bars, so they
    /// cover neither the tabs nor the run controls (egui's default is the screen's top-left corner).
    windows_at: egui::Pos2,
    /// The lesson being played, if any.
    player: Option<LessonPlayer>,
    /// The presenter view's settings.
    presenter: Presenter,
    /// The normal window's zoom (Ctrl + / Ctrl − / Ctrl 0, egui's keys).
    window_zoom: f32,
    /// The zoom last asked of egui, to tell its zoom keys' changes from ours.
    asked_zoom: Option<f32>,
    /// The Lessons window (lessons to play, scenes to save and open).
    lessons: LessonsWindow,
    /// The speaker notes' window is open (while a lesson plays).
    notes_open: bool,
}

/// The least and most zoom of the normal window (egui's keys go from 0.2 to 5).
const WINDOW_ZOOMS: (f32, f32) = (0.5, 3.0);

/// How long a worker's wake-up may wait for its frame: the rows it sent are drawn at most this late,
/// and a live run is drawn at most about 15 times a second (the worker sends a batch every 30 ms).
/// Each frame redraws the whole window, which costs the training cores where the window is drawn
/// in software (a remote or virtual desktop); input still gets its frame at once.
pub const LIVE_FRAME_GAP: std::time::Duration = std::time::Duration::from_millis(66);

/// What a training worker calls after each batch of events: a frame within [`LIVE_FRAME_GAP`].
fn live_waker(ctx: egui::Context) -> crate::worker::Waker {
    Box::new(move || ctx.request_repaint_after(LIVE_FRAME_GAP))
}

impl GrokscopeApp {
    /// The app with a real training worker per lab, woken through `request_repaint_after`
    /// ([`LIVE_FRAME_GAP`]).
    pub fn new(
        cc: &eframe::CreationContext<'_>,
        dialog: Arc<dyn FileDialog>,
    ) -> anyhow::Result<Self> {
        let mut backends: Vec<(Lab, Box<dyn Backend>)> = Vec::new();
        for lab in Lab::ALL {
            let worker = crate::worker::Worker::spawn_named(
                &format!("grokscope-{}", lab.title().to_lowercase()),
                Some(live_waker(cc.egui_ctx.clone())),
            )
            .with_context(|| format!("cannot start the {lab} lab's training worker thread"))?;
            backends.push((lab, Box::new(worker)));
        }
        Ok(Self::with_backends(cc, dialog, backends))
    }

    /// The app with the given workers (tests pass scripted ones); a lab given none gets no worker
    /// (its starts are refused, saying why).
    pub fn with_backends(
        cc: &eframe::CreationContext<'_>,
        dialog: Arc<dyn FileDialog>,
        backends: Vec<(Lab, Box<dyn Backend>)>,
    ) -> Self {
        let ctx = cc.egui_ctx.clone();
        install_fonts(&ctx);
        let setup = LabSetup {
            ctx: &ctx,
            dialog: Arc::clone(&dialog),
            storage: cc.storage,
        };
        let mut backends = backends;
        let labs: Vec<Box<dyn LabSlot>> = Lab::ALL
            .into_iter()
            .map(|lab| {
                let backend = backends
                    .iter()
                    .position(|(l, _)| *l == lab)
                    .map(|i| backends.swap_remove(i).1)
                    .unwrap_or_else(|| Box::new(Unattached::default()));
                lab.build(backend, &setup)
            })
            .collect();
        let speeds = labs
            .iter()
            .map(|l| {
                let mut s = Speed {
                    limited: false,
                    steps_per_sec: 100.0,
                };
                s.set(l.default_speed());
                s
            })
            .collect();
        let wake_ctx = ctx.clone();
        Self {
            ctx,
            dialog,
            labs,
            shown: 0,
            speeds,
            scene_speed: None,
            lesson_speeds: None,
            lesson_left: vec![],
            frames: FrameTimer::default(),
            jobs: Jobs::new(Arc::new(move || wake_ctx.request_repaint())),
            figure_export: FigureExport::default(),
            figure_sets: None,
            windows_at: egui::pos2(640.0, 60.0),
            player: None,
            presenter: Presenter::default(),
            window_zoom: 1.0,
            asked_zoom: None,
            lessons: LessonsWindow::default(),
            notes_open: false,
        }
    }

    /// The app with `backend` for the first lab (Grokking; tests pass a scripted one) and no worker
    /// for the others.
    pub fn with_backend(
        cc: &eframe::CreationContext<'_>,
        dialog: Arc<dyn FileDialog>,
        backend: Box<dyn Backend>,
    ) -> Self {
        Self::with_backends(cc, dialog, vec![(Lab::ALL[0], backend)])
    }

    /// `lab` rebuilt around `backend` (its own worker; tests pass a scripted one).
    #[must_use]
    pub fn with_lab_backend(mut self, lab: Lab, backend: Box<dyn Backend>) -> Self {
        if let Some(i) = self.index_of(lab) {
            let setup = LabSetup {
                ctx: &self.ctx,
                dialog: Arc::clone(&self.dialog),
                storage: None,
            };
            self.labs[i] = lab.build(backend, &setup);
        }
        self
    }

    fn index_of(&self, lab: Lab) -> Option<usize> {
        self.labs.iter().position(|l| l.lab() == lab)
    }

    /// The lab of type `T` (e.g. `app.lab_as::<OrderingLab>()`).
    pub fn lab_as<T: LabSlot>(&self) -> Option<&T> {
        self.labs
            .iter()
            .find_map(|l| l.as_any().downcast_ref::<T>())
    }

    pub fn lab_as_mut<T: LabSlot>(&mut self) -> Option<&mut T> {
        self.labs
            .iter_mut()
            .find_map(|l| l.as_any_mut().downcast_mut::<T>())
    }

    fn current(&self) -> &dyn LabSlot {
        &*self.labs[self.shown]
    }

    fn current_mut(&mut self) -> &mut dyn LabSlot {
        &mut *self.labs[self.shown]
    }

    /// The lab whose tab is shown.
    pub fn lab(&self) -> Lab {
        self.current().lab()
    }

    /// Show `lab`'s tab (as clicking it would).
    pub fn show_lab(&mut self, lab: Lab) {
        if let Some(i) = self.index_of(lab) {
            self.shown = i;
        }
    }

    /// The status line of the lab shown.
    pub fn status(&self) -> &Status {
        self.current().status()
    }

    /// The phase of the lab shown.
    pub fn phase(&self) -> Phase {
        self.current().phase()
    }

    /// The lesson being played.
    pub fn lesson(&self) -> Option<&LessonPlayer> {
        self.player.as_ref()
    }

    /// The top bar's speed limit on the lab shown (steps a second; `None`: flat out).
    pub fn speed_limit(&self) -> Option<f64> {
        self.speeds[self.shown].command()
    }

    /// The presenter view's settings.
    pub fn presenter(&self) -> &Presenter {
        &self.presenter
    }

    /// Whether the speaker notes' window is open (it shows while a lesson plays).
    pub fn notes_open(&self) -> bool {
        self.notes_open
    }

    /// Play a lesson (`bundled:NAME` or a file's path); a refused one is named with its line and field.
    /// The lesson begins on a clean slate where the last lesson left its run: a lab both use that
    /// has started nothing since is reset (a run still going stops; the last lesson's finished curves
    /// no longer stand under the first step, "before anything runs"). A run of the window's own is
    /// left as it is, to go into the Runs list when the lesson starts one, as any Start does.
    pub fn play_lesson(&mut self, source: &str) -> Result<(), String> {
        let lesson = load_lesson(source)?;
        self.end_lesson();
        let player = LessonPlayer::new(lesson, source);
        let ctx = self.lab_ctx();
        for (i, marker) in std::mem::take(&mut self.lesson_left) {
            if let Some(lab) = self.labs.get_mut(i)
                && player.uses(lab.lab())
                && lab.link().runs.marker() == marker
            {
                crate::app::teach::player::reset_lab(lab.as_mut(), ctx);
            }
        }
        self.lesson_speeds = Some(self.speeds.clone());
        self.player = Some(player);
        Ok(())
    }

    /// The lesson played ends: each lab's speed limit goes back to what it was before the lesson, a
    /// run it asked to hold itself at a wait's end is let go (at that limit), and the view options
    /// it set go back to the window's own.
    fn end_lesson(&mut self) {
        if let Some(before) = self.lesson_speeds.take() {
            for (i, s) in before.into_iter().enumerate() {
                if let Some(lab) = self.labs.get_mut(i)
                    && self.speeds[i] != s
                {
                    self.speeds[i] = s;
                    lab.apply(Action::SetSpeed(s.command()), LabCtx { speed: s.command() });
                }
            }
        }
        if let Some(mut p) = self.player.take() {
            let speeds: Vec<Option<f64>> = self.speeds.iter().map(|s| s.command()).collect();
            p.release(&mut self.labs, &speeds);
            p.restore_views(&mut self.labs);
            self.lesson_left = self
                .labs
                .iter()
                .enumerate()
                .filter(|(_, l)| p.uses(l.lab()))
                .map(|(i, l)| (i, l.link().runs.marker()))
                .collect();
        }
    }

    /// Read the scene file `path` and bring it back; a problem names the file (reading names it
    /// already; checking it against the window, and opening it, are named here).
    fn read_and_open_scene(&mut self, path: &std::path::Path) -> Result<String, String> {
        let scene = Scene::read(path)?;
        self.open_scene(&scene)
            .map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Open as `start` says (the command line's --lesson, --presenter, --scene); a problem goes to the
    /// status line and the Lessons window.
    pub fn begin(&mut self, start: &super::WindowStart) {
        if let Some(path) = &start.scene {
            let r = self.read_and_open_scene(path);
            self.say(r);
        }
        if let Some(source) = start.lesson_source() {
            let r = self
                .play_lesson(&source)
                .map(|()| format!("playing {source}"));
            self.say(r);
        }
        self.presenter.on |= start.presenter;
    }

    /// Say how something went on the status line and in the Lessons window (open on a problem).
    fn say(&mut self, r: Result<String, String>) {
        let link = self.current_mut().link_mut();
        match &r {
            Ok(m) => link.info(m.clone()),
            Err(m) => link.error(m.clone()),
        }
        self.lessons.open |= r.is_err();
        self.lessons.message = Some(match r {
            Ok(m) => (false, m),
            Err(m) => (true, m),
        });
    }

    /// Do what the lesson's bar or keys ask.
    pub fn lesson_command(&mut self, cmd: LessonCmd) {
        let ctx = self.lab_ctx();
        match cmd {
            LessonCmd::None => {}
            LessonCmd::Presenter => {
                self.presenter.on = !self.presenter.on;
                self.presenter.blank = false;
            }
            LessonCmd::FullScreen => {
                let full = self.ctx.input(|i| i.viewport().fullscreen.unwrap_or(false));
                self.ctx
                    .send_viewport_cmd(egui::ViewportCommand::Fullscreen(!full));
            }
            LessonCmd::Blank => self.presenter.blank = !self.presenter.blank,
            LessonCmd::Notes => self.notes_open = !self.notes_open,
            LessonCmd::Close => {
                self.end_lesson();
                // the Lessons window said "playing …" until another message came
                self.lessons.message = Some((false, "lesson closed".into()));
                for lab in &mut self.labs {
                    lab.link_mut().panels.show_all();
                }
            }
            LessonCmd::Next | LessonCmd::Previous | LessonCmd::Restart | LessonCmd::Skip => {
                let Some(p) = &mut self.player else { return };
                match cmd {
                    LessonCmd::Next => p.next(),
                    LessonCmd::Previous => {
                        p.previous();
                    }
                    LessonCmd::Restart => p.restart(&mut self.labs, ctx),
                    _ => p.skip(),
                }
            }
        }
    }

    /// The scene of the window now, as a file would keep it.
    pub fn scene(&self) -> Scene {
        Scene::capture(
            self.current(),
            &self.presenter,
            self.player.as_ref(),
            self.speed_limit(),
        )
    }

    /// Bring back a scene: checked in full first (a refused one changes nothing); what happened.
    pub fn open_scene(&mut self, scene: &Scene) -> Result<String, String> {
        let player = scene.check(&self.labs)?;
        let ctx = self.lab_ctx();
        let (i, said) = scene.apply(&mut self.labs, ctx)?;
        self.shown = i;
        // after the run is back (a retraining goes flat out; see `apply_scene_speed`)
        self.scene_speed = Some((i, scene.speed));
        self.presenter.on = scene.presenter;
        self.presenter.scale = scene.scale;
        self.presenter.fit = scene.fit_scale;
        self.presenter.config = scene.presenter_config;
        self.presenter.blank = false;
        self.end_lesson();
        self.player = player;
        Ok(said)
    }

    /// A scene's speed limit, once its lab has no run going (its run restored).
    fn apply_scene_speed(&mut self) {
        let Some((i, limit)) = self.scene_speed else {
            return;
        };
        let Some(lab) = self.labs.get_mut(i) else {
            self.scene_speed = None;
            return;
        };
        if lab.phase().active() {
            return;
        }
        self.scene_speed = None;
        self.speeds[i].set(limit);
        lab.apply(Action::SetSpeed(limit), LabCtx { speed: limit });
    }

    fn lab_ctx(&self) -> LabCtx {
        LabCtx {
            speed: self.speed_limit(),
        }
    }

    /// The Lessons window's request.
    fn window_command(&mut self, cmd: WindowCmd) {
        let message = match cmd {
            WindowCmd::None => return,
            WindowCmd::Choose(purpose) => {
                let dialog = Arc::clone(&self.dialog);
                let asked = self.jobs.spawn_dialog("file-dialog", move |out| {
                    let path = match purpose {
                        FileUse::SaveScene => dialog.save(purpose.title(), "scene.toml", "toml"),
                        FileUse::PlayLesson | FileUse::OpenScene => {
                            dialog.pick_file(purpose.title(), "toml")
                        }
                    };
                    out.send(JobDone::LessonFile { purpose, path });
                });
                match asked {
                    Ok(()) => return,
                    Err(e) => Err(format!(
                        "cannot open a file dialog ({e}): type the path instead"
                    )),
                }
            }
            WindowCmd::Play(source) if source.is_empty() => {
                Err("type a lesson file's path first".into())
            }
            WindowCmd::Play(source) => self.play_lesson(&source).map(|()| {
                self.lessons.open = false;
                format!("playing {source}")
            }),
            WindowCmd::SaveScene(path) if path.is_empty() => {
                Err("type a scene file's path first".into())
            }
            WindowCmd::SaveScene(typed) => {
                // a scene there is replaced at the second Save to it (or once chosen in the dialog,
                // which asked)
                let replace = self.lessons.replace_scene.take().as_ref() == Some(&typed);
                let path = std::path::PathBuf::from(&typed);
                let scene = self.scene();
                let saved = scene.save(&path, replace);
                if saved.is_err() && Scene::may_replace(&path, true).is_ok() {
                    self.lessons.replace_scene = Some(typed);
                }
                saved.map(|()| {
                    let saved = format!("scene saved to {}", path.display());
                    match scene.run.as_ref().and_then(|r| r.dir.as_deref()) {
                        Some(dir) if in_temporary_folder(dir) => {
                            // left there when the window closes, as the scene points at it
                            keep_temporary_run(dir);
                            format!(
                                "{saved}; its run is in {}, under the system's temporary folder, \
                                 which the system may clear: to keep it, save the run from the \
                                 Runs panel, then save the scene again",
                                dir.display()
                            )
                        }
                        _ => saved,
                    }
                })
            }
            WindowCmd::OpenScene(path) if path.is_empty() => {
                Err("type a scene file's path first".into())
            }
            WindowCmd::OpenScene(path) => self.read_and_open_scene(std::path::Path::new(&path)),
        };
        self.say(message);
    }

    /// 99th percentile of the recent frames' `ui` time, in ms.
    pub fn frame_p99_ms(&self) -> Option<f32> {
        self.frames.p99_ms()
    }

    /// Apply `action` to the lab shown, as the bars would.
    pub fn apply(&mut self, action: Action) {
        let ctx = self.lab_ctx();
        self.current_mut().apply(action, ctx);
    }

    /// Take the workers' events for at most [`DRAIN_BUDGET`] (the shown lab's first); ask for
    /// another frame if more remain.
    fn drain_events(&mut self, ctx: &egui::Context) {
        let deadline = Instant::now() + DRAIN_BUDGET;
        let n = self.labs.len();
        let mut more = false;
        for k in 0..n {
            let i = (self.shown + k) % n;
            more |= self.labs[i].drain(deadline);
        }
        if more {
            ctx.request_repaint();
        }
    }

    /// What the play button and Space do: start, pause or resume; nothing while a sweep or study
    /// runs (its threads run whole tasks: it cannot pause; one held somehow still resumes).
    fn play_action(&self) -> Action {
        let refused = self.current().pause_refused().is_some();
        match self.phase() {
            Phase::Idle | Phase::Finished => Action::Start,
            Phase::Starting | Phase::Running if refused => Action::None,
            Phase::Starting | Phase::Running => Action::Pause,
            Phase::Paused => Action::Resume,
        }
    }

    fn poll_jobs(&mut self) {
        while let Some(done) = self.jobs.try_recv() {
            match done {
                JobDone::Figure(done) => {
                    // the figure came from the lab shown: its status line says how it went
                    let result = self.figure_export.done(done);
                    let link = self.current_mut().link_mut();
                    match result {
                        Ok(m) => link.info(m),
                        Err(m) => link.error(m),
                    }
                }
                JobDone::LessonFile {
                    purpose,
                    path: Some(path),
                } => {
                    let path = path.display().to_string();
                    match purpose {
                        FileUse::PlayLesson => self.lessons.lesson_path = path.clone(),
                        FileUse::SaveScene => {
                            // the dialog asked before a file there is replaced
                            self.lessons.scene_path = path.clone();
                            self.lessons.replace_scene = Some(path.clone());
                        }
                        FileUse::OpenScene => self.lessons.scene_path = path.clone(),
                    }
                    self.window_command(purpose.command(path));
                }
                // asked for, not a failure
                JobDone::LessonFile { path: None, .. } => self.say(Ok(
                    "no file chosen (or no file dialog on this desktop): type its path instead"
                        .into(),
                )),
                // the labs' own dialogs, writes and reads go to their own jobs
                JobDone::Chosen { .. } | JobDone::Captured { .. } | JobDone::Written { .. } => {}
            }
        }
    }

    /// The Export figure window with the shown lab's figures.
    fn figure_export_ui(&mut self, ctx: &egui::Context) {
        if !self.figure_export.open {
            self.figure_sets = None;
            return;
        }
        // Building a set copies every plotted point: not every frame while a run trains, but when
        // the window opens, the lab changes, and at most twice a second (an export is at most that
        // far behind the live plots, and its figure and CSV always agree).
        let lab = self.lab();
        let stale = self
            .figure_sets
            .as_ref()
            .is_none_or(|(l, at, _)| *l != lab || at.elapsed() > FIGURE_SET_MAX_AGE);
        if stale {
            self.figure_sets = Some((lab, Instant::now(), self.current().figure_set()));
        }
        let Some((lab, _, set)) = &self.figure_sets else {
            return;
        };
        let request = self.figure_export.window_ui(
            ctx,
            self.windows_at,
            (*lab, set),
            &mut self.jobs,
            &self.dialog,
        );
        let link = self.current_mut().link_mut();
        match request {
            FigureRequest::None => {}
            FigureRequest::Started(m) => link.info(m),
            FigureRequest::Failed(m) => link.error(m),
        }
    }

    fn top_bar_ui(&mut self, ui: &mut Ui, problems: &[FieldProblem]) -> Action {
        let mut action = Action::None;
        let narrow = ui.ctx().content_rect().width() < crate::app::widgets::layout::WIDE;
        ui.horizontal_wrapped(|ui| {
            // tighter spacing and a shorter slider keep the bar on one line in a smaller window
            if narrow {
                ui.spacing_mut().item_spacing.x = 5.0;
                ui.spacing_mut().slider_width = 56.0;
            }
            for (i, lab) in self.labs.iter().enumerate() {
                if ui
                    .add(egui::Button::selectable(
                        self.shown == i,
                        lab.lab().title(),
                    ))
                    .clicked()
                {
                    self.shown = i;
                }
            }
            ui.separator();

            let phase = self.phase();
            let (play_text, play_tip) = match phase {
                Phase::Starting | Phase::Running => {
                    ("‖ Pause", "Hold the run between two steps (Space)")
                }
                Phase::Paused => ("▶ Resume", "Continue the run (Space)"),
                Phase::Idle | Phase::Finished => {
                    ("▶ Start", "Train the config on the left (Space)")
                }
            };
            // a sweep's threads run whole tasks: it can start and stop, not pause, step or slow down
            let tasks = self.current().controls() == Controls::Tasks;
            let can_play = self.play_action() != Action::None;
            if ui
                .add_enabled(can_play, egui::Button::new(play_text))
                .on_hover_text(play_tip)
                .on_disabled_hover_text(sentence(
                    self.current().pause_refused().unwrap_or(TASKS_CANNOT_PAUSE),
                ))
                .clicked()
            {
                action = self.play_action();
            }
            let can_step = matches!(phase, Phase::Running | Phase::Paused) && !tasks;
            if ui
                .add_enabled(can_step, egui::Button::new("⇥ Step"))
                .on_hover_text("One optimiser step, then pause")
                .clicked()
            {
                action = Action::Step;
            }
            if ui
                .add_enabled(phase.active(), egui::Button::new("■ Stop"))
                .on_hover_text("End the run; its plots stay")
                .clicked()
            {
                action = Action::Stop;
            }
            if ui
                .add_enabled(phase != Phase::Idle, egui::Button::new("↺ Reset"))
                .on_hover_text("Stop any run and clear the plots")
                .clicked()
            {
                action = Action::Reset;
            }
            ui.separator();
            if ui
                .button("Export figure…")
                .on_hover_text("Any plot of this lab as PNG, SVG or PDF for a paper, with its data (CSV) and config (JSON)")
                .clicked()
            {
                self.figure_export.open_window();
            }
            if ui
                .button("Lessons…")
                .on_hover_text("Guided lessons that drive the labs step by step, and scenes prepared for a class")
                .clicked()
            {
                self.lessons.open = !self.lessons.open;
            }
            if ui
                .button("Presenter")
                .on_hover_text("The projector layout: large text, the lesson's panels only, thick lines, a colour-blind-safe palette (F5; Esc leaves)")
                .clicked()
            {
                self.presenter.on = true;
            }
            panels_menu_ui(ui, &mut *self.labs[self.shown], None);
            if let Some(first) = problems.first() {
                let all: Vec<String> = problems
                    .iter()
                    .map(|p| format!("{}: {}", p.field, p.message))
                    .collect();
                ui.label(
                    RichText::new(format!("invalid: {}{}", first.field, more_text(problems)))
                        .color(error_color(ui)),
                )
                .on_hover_text(all.join("\n"));
            }
            ui.separator();

            // a narrow window leaves out the word (the hovers say it; a screen reader still reads
            // the slider as "speed"): with the Show menu, the counter had wrapped at 1280 pixels
            let speed_label = (!narrow).then(|| ui.label("speed"));
            let mut speed = self.speeds[self.shown];
            let a = ui
                .add_enabled(!tasks, egui::Checkbox::new(&mut speed.limited, "limit"))
                .on_hover_text("Speed limit; off: train flat out");
            let s = ui.add_enabled(
                speed.limited && !tasks,
                egui::Slider::new(&mut speed.steps_per_sec, crate::config::SPEED_LIMITS)
                    .logarithmic(true)
                    .max_decimals(0)
                    .suffix(" steps/s"),
            );
            let s = match speed_label {
                Some(label) => s.labelled_by(label.id),
                None => {
                    ui.ctx()
                        .accesskit_node_builder(s.id, |node| node.set_label("speed"));
                    s.on_hover_text("Speed limit")
                }
            };
            let committed = a.changed() || (s.changed() && !s.dragged()) || s.drag_stopped();
            self.speeds[self.shown] = speed;
            if committed {
                action = Action::SetSpeed(speed.command());
            }
            ui.separator();

            // the width a monospace text takes on one line
            let mono_width = |ui: &Ui, text: &str| {
                let font = egui::TextStyle::Monospace.resolve(ui.style());
                ui.painter()
                    .layout_no_wrap(text.to_owned(), font, egui::Color32::WHITE)
                    .size()
                    .x
            };
            match self.current().counter() {
                Counter::Text(text) => {
                    // on its line whole, or cut short with the whole on hover (the Capacity
                    // counter's "~23 s left" wrapped, "s left" alone under the lab tabs at 1280
                    // points); only a sliver left takes it to the next line
                    let width = mono_width(ui, &text);
                    let room = ui.available_width();
                    let mode = if room >= width {
                        egui::TextWrapMode::Extend
                    } else if room >= 160.0 {
                        egui::TextWrapMode::Truncate
                    } else {
                        ui.end_row();
                        egui::TextWrapMode::Extend
                    };
                    ui.add(egui::Label::new(RichText::new(&text).monospace()).wrap_mode(mode))
                        .on_hover_text(text);
                }
                Counter::Steps {
                    step,
                    epoch,
                    steps_per_sec,
                } => {
                    let rate =
                        steps_per_sec.map_or("— steps/s".into(), |r| format!("{r:.0} steps/s"));
                    let texts = [format!("step {step}"), format!("epoch {epoch}"), rate];
                    // a counter too long for what is left of the line goes whole to the next one
                    // (split, its rate would land alone under the lab tabs)
                    let gap = ui.spacing().item_spacing.x;
                    let width: f32 = texts.iter().map(|t| mono_width(ui, t) + gap).sum();
                    if ui.available_width() < width {
                        ui.end_row();
                    }
                    // each whole on its line (the rate had wrapped within its label, "steps/s"
                    // alone on the next line)
                    let [s, e, r] = texts;
                    let whole = |t: RichText| egui::Label::new(t).wrap_mode(egui::TextWrapMode::Extend);
                    ui.add(whole(RichText::new(s).monospace()));
                    ui.add(whole(RichText::new(e).monospace()));
                    ui.add(whole(RichText::new(r).monospace().weak()));
                }
            }
        });
        action
    }

    /// The status bar; whether its earlier problem was dismissed (clicked).
    fn status_bar_ui(&self, ui: &mut Ui, problems: &[FieldProblem]) -> bool {
        let mut dismissed = false;
        let presenting = self.presenter.on;
        ui.horizontal(|ui| {
            // the counts on the right first, so the message on the left is cut short (its whole text on
            // hover) instead of running into them
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                // the frame time is the developer's number, not the room's: the presenter view
                // gives its width to the message
                if !presenting {
                    let frame = match (self.frames.last_ms(), self.frames.p99_ms()) {
                        (Some(last), Some(p99)) => format!("frame {last:.1} ms · p99 {p99:.1} ms"),
                        _ => "frame —".into(),
                    };
                    ui.label(RichText::new(frame).small().weak()).on_hover_text(
                        "Time spent building this window's frame (p99 over the last 300 frames)",
                    );
                }
                let (params, dropped) = self.current().counts();
                if let Some(n) = params {
                    ui.separator();
                    ui.label(format!("{} parameters", group_digits(n)));
                }
                if let Some(device) = &self.current().link().device {
                    ui.separator();
                    ui.label(format!("on {}", device.placement))
                        .on_hover_text(format!(
                            "The latest run trains on {}: {}",
                            device.placement, device.reason
                        ));
                }
                if dropped > 0 {
                    ui.separator();
                    ui.label(
                        RichText::new(format!("{dropped} out-of-order rows dropped"))
                            .color(Color32::YELLOW),
                    );
                }
                ui.separator();
                ui.with_layout(egui::Layout::left_to_right(egui::Align::Center), |ui| {
                    ui.label(RichText::new(self.current().phase_word()).strong());
                    let status = self.status();
                    let color = if status.is_error {
                        error_color(ui)
                    } else {
                        ui.visuals().text_color()
                    };
                    // an error a later message replaced stays in sight (a failed autosave once
                    // showed for under a second: a helper's audit, 2026-12-06)
                    if let Some(earlier) = self.current().link().earlier() {
                        let r = ui
                            .add(
                                egui::Button::new(
                                    RichText::new("! earlier problem").color(error_color(ui)),
                                )
                                .small(),
                            )
                            .on_hover_text(format!("{earlier}\n\n(click to dismiss)"));
                        dismissed = r.clicked();
                    }
                    // in the presenter view the room reads the whole message (a run's summary ran
                    // past the width at 1600 x 900: "delay 195 epoc…"), so it wraps
                    if presenting {
                        let text = keep_signs_with_numbers(&status.text);
                        ui.add(egui::Label::new(RichText::new(text).color(color)).wrap());
                    } else {
                        let label = egui::Label::new(RichText::new(&status.text).color(color));
                        ui.add(label.truncate());
                    }
                    if let Some(first) = problems.first() {
                        ui.separator();
                        ui.add(
                            egui::Label::new(
                                RichText::new(format!(
                                    "config: {}: {}{}",
                                    first.field,
                                    first.message,
                                    more_text(problems)
                                ))
                                .color(error_color(ui)),
                            )
                            .truncate(),
                        );
                    }
                });
            });
        });
        dismissed
    }
}

/// `text` with no line break between a number and its `%`, or a `≥`/`≤` and its number (a wrapped
/// status line left "%" alone on its second line).
fn keep_signs_with_numbers(text: &str) -> String {
    const NBSP: &str = "\u{a0}";
    text.replace(" %", &format!("{NBSP}%"))
        .replace("≥ ", &format!("≥{NBSP}"))
        .replace("≤ ", &format!("≤{NBSP}"))
}

/// ` (+N more)` when there is more than one problem.
fn more_text(problems: &[FieldProblem]) -> String {
    if problems.len() > 1 {
        format!(" (+{} more)", problems.len() - 1)
    } else {
        String::new()
    }
}

impl eframe::App for GrokscopeApp {
    /// Keep the settings that outlive a session (each lab's own).
    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        for lab in &self.labs {
            lab.save(storage);
        }
    }

    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        self.drain_events(ctx);
        self.poll_jobs();
    }

    fn ui(&mut self, ui: &mut Ui, _frame: &mut eframe::Frame) {
        let t0 = Instant::now();
        let ctx = ui.ctx().clone();
        super::shutdown::close_if_asked(&ctx);
        let presenting = self.presenter.on;
        self.lesson_command(keys(&ctx, presenting, self.player.is_some()));
        self.apply_look(&ctx);
        let mut action = Action::None;
        let space = !ctx.egui_wants_keyboard_input()
            && ui.input_mut(|i| i.consume_key(Modifiers::NONE, Key::Space));
        if space {
            action = self.play_action();
        }
        if let Some(p) = &mut self.player {
            let speeds: Vec<Option<f64>> = self.speeds.iter().map(|s| s.command()).collect();
            if p.advance(&mut self.labs, &mut self.shown, &speeds) {
                ctx.request_repaint_after(p.next_frame());
            }
            // a lesson's `speed` shows in its lab's top bar (the lab has it already)
            if let Some((lab, limit)) = p.take_speed()
                && let Some(i) = self.labs.iter().position(|l| l.lab() == lab)
            {
                self.speeds[i].set(limit);
            }
        }
        self.apply_scene_speed();
        let problems = self.current().problems();
        self.current_mut().link_mut().panels.new_frame();

        // where the top bars end (the windows open under them)
        let mut bars_bottom = ctx.content_rect().top();
        if self.presenter.on {
            let top = egui::Panel::top("presenter_bar").show(ui, |ui| self.presenter_bar_ui(ui));
            bars_bottom = bars_bottom.max(top.response.rect.bottom());
            action = action.or(top.inner);
        } else {
            let top = egui::Panel::top("top_bar").show(ui, |ui| {
                ui.add_space(2.0);
                let a = self.top_bar_ui(ui, &problems);
                ui.add_space(2.0);
                a
            });
            bars_bottom = bars_bottom.max(top.response.rect.bottom());
            action = action.or(top.inner);
            if let Some(p) = &self.player {
                let mut presenter = self.presenter;
                let bar = egui::Panel::top("lesson_bar").show(ui, |ui| {
                    let cmd = lesson_bar_ui(ui, p, &mut presenter, self.notes_open);
                    lesson_text_ui(ui, p, false);
                    cmd
                });
                self.presenter = presenter;
                bars_bottom = bars_bottom.max(bar.response.rect.bottom());
                self.lesson_command(bar.inner);
            }
        }
        if self.presenter.on
            && let Some(p) = &self.player
        {
            let text = egui::Panel::top("lesson_text").show(ui, |ui| {
                ui.add_space(4.0);
                lesson_text_ui(ui, p, true);
                ui.add_space(4.0);
            });
            bars_bottom = bars_bottom.max(text.response.rect.bottom());
        }
        self.windows_at = egui::pos2(ctx.content_rect().center().x, bars_bottom + 8.0);
        let dismissed = egui::Panel::bottom("status_bar")
            .show(ui, |ui| self.status_bar_ui(ui, &problems))
            .inner;
        if dismissed {
            self.current_mut().link_mut().dismiss_earlier();
        }
        // the presenter view shows the config panel only when the lesson shows it, or (without a
        // lesson) when its Show menu asks for it
        let config_shown = match (&self.player, self.presenter.on) {
            (_, false) => self.current().panel_shown("config"),
            (Some(p), true) => self.current().panel_shown("config") && p.config_shown(),
            (None, true) => self.presenter.config,
        };
        if config_shown {
            let side = crate::app::widgets::layout::config(ctx.content_rect().width());
            let left = egui::Panel::left("config_panel")
                .resizable(true)
                .default_size(side.default)
                .size_range(side.range)
                .show(ui, |ui| self.current_mut().config_ui(ui, &problems));
            self.current_mut()
                .link_mut()
                .panels
                .drawn("config", left.response.rect);
            action = action.or(left.inner);
        }
        self.current_mut().side_panels_ui(ui);
        let centre = egui::CentralPanel::default().show(ui, |ui| self.current_mut().centre_ui(ui));
        action = action.or(centre.inner);
        self.figure_export_ui(&ctx);
        if self.notes_open
            && let Some(p) = &self.player
        {
            let cmd = notes_window(&ctx, p, self.presenter.on, &mut self.notes_open);
            self.lesson_command(cmd);
            // its clocks count seconds
            ctx.request_repaint_after(std::time::Duration::from_secs(1));
        }
        if self.lessons.open {
            let cmd = self.lessons.ui(&ctx, self.windows_at);
            self.window_command(cmd);
        }
        paint_highlight(&ctx, &self.current().link().panels);
        if self.presenter.on && self.presenter.blank {
            blank_ui(&ctx);
        }

        self.apply(action);
        let busy = self.jobs.dialog_open() || self.jobs.writing();
        // keep the step rate and spinners moving even between worker wake-ups, as often as the
        // labs that want frames ask
        let every = self
            .labs
            .iter()
            .filter_map(|l| l.frames_every())
            .chain(busy.then_some(crate::app::labs::FRAMES_EVERY))
            .min();
        if let Some(every) = every {
            ui.ctx().request_repaint_after(every);
        }
        self.frames.record(t0.elapsed());
    }
}

impl GrokscopeApp {
    /// The zoom and the plots' look of the presenter view (or of the normal window).
    fn apply_look(&mut self, ctx: &egui::Context) {
        // Ctrl 0 in the presenter view follows the window again: taken here, before egui's own
        // zoom reset (at the pass's end) sets the zoom to 1. A real window's next frame then still
        // measured itself in points of the old zoom, so the fit read a window 1.5 times smaller and
        // gave 1.00 (a teacher's audit; kittest's window did not show it)
        let reset = egui::KeyboardShortcut::new(Modifiers::COMMAND, Key::Num0);
        if self.presenter.on && ctx.input_mut(|i| i.consume_shortcut(&reset)) {
            self.presenter.fit = true;
        }
        let now = ctx.zoom_factor();
        if self
            .asked_zoom
            .is_some_and(|asked| (now - asked).abs() > 1e-3)
        {
            // egui's zoom keys changed it since: the view shown keeps that zoom (the presenter's
            // as its scale, set by hand)
            if self.presenter.on {
                let scales = super::teach::presenter::SCALES;
                self.presenter.scale = now.clamp(*scales.start(), *scales.end());
                self.presenter.fit = false;
            } else {
                self.window_zoom = now.clamp(WINDOW_ZOOMS.0, WINDOW_ZOOMS.1);
            }
        }
        if self.presenter.on && self.presenter.fit {
            // the window's size at zoom 1 (its size in points at the zoom it has now, times that)
            let size = ctx.content_rect().size() * ctx.zoom_factor();
            self.presenter.scale = super::teach::presenter::fit_scale(size);
        }
        let lesson = self.player.is_some();
        let (zoom, look) = if self.presenter.on {
            (
                self.presenter.scale,
                Look {
                    line: 2.0,
                    safe_palette: true,
                    presenting: true,
                    lesson,
                },
            )
        } else {
            (
                self.window_zoom,
                Look {
                    lesson,
                    ..Look::default()
                },
            )
        };
        if (now - zoom).abs() > 1e-3 {
            ctx.set_zoom_factor(zoom);
        }
        self.asked_zoom = Some(zoom);
        look.set(ctx);
    }

    /// The presenter view's bar: the lesson's controls, or (without a lesson) the tabs and the run's
    /// play button.
    fn presenter_bar_ui(&mut self, ui: &mut Ui) -> Action {
        let mut action = Action::None;
        if let Some(p) = &self.player {
            let mut presenter = self.presenter;
            let cmd = lesson_bar_ui(ui, p, &mut presenter, self.notes_open);
            self.presenter = presenter;
            self.lesson_command(cmd);
            return action;
        }
        ui.horizontal_wrapped(|ui| {
            for (i, lab) in self.labs.iter().enumerate() {
                if ui
                    .add(egui::Button::selectable(self.shown == i, lab.lab().title()))
                    .clicked()
                {
                    self.shown = i;
                }
            }
            ui.separator();
            let text = match self.phase() {
                Phase::Starting | Phase::Running => "‖ Pause",
                Phase::Paused => "▶ Resume",
                Phase::Idle | Phase::Finished => "▶ Start",
            };
            let can_play = self.play_action() != Action::None;
            if ui.add_enabled(can_play, egui::Button::new(text)).clicked() {
                action = self.play_action();
            }
            panels_menu_ui(
                ui,
                &mut *self.labs[self.shown],
                Some(&mut self.presenter.config),
            );
            ui.separator();
            super::teach::presenter::scale_ui(ui, &mut self.presenter, false);
            if ui.button("Leave presenter (Esc)").clicked() {
                self.presenter.on = false;
            }
        });
        action
    }
}

/// The Show menu (the presenter's bar without a lesson, and the top bar): a check box for each of
/// the lab's named panels, the ones a lesson shows and hides, so a teacher picks what the room sees
/// (the presenter view had put every view in one column and left out the views' own toggles: a
/// teacher's audit) and a panel hidden there can be shown again here. `presenter_config`: the
/// presenter's own choice for the config panel (its view leaves the panel out unless asked); the
/// normal window's is the lab's.
fn panels_menu_ui(ui: &mut Ui, lab: &mut dyn LabSlot, mut presenter_config: Option<&mut bool>) {
    // the config panel's place is the presenter's own choice there, any other panel the lab's
    let shown = |lab: &dyn LabSlot, config: Option<&bool>, key: &str| match (key, config) {
        ("config", Some(on)) => *on,
        (key, _) => lab.panel_shown(key),
    };
    let show =
        |lab: &mut dyn LabSlot, config: Option<&mut bool>, key: &str, on: bool| match (key, config)
        {
            ("config", Some(shown)) => *shown = on,
            (key, _) => lab.show_panel(key, on),
        };
    let hidden = lab
        .panels()
        .iter()
        .filter(|p| !shown(lab, presenter_config.as_deref(), p.key))
        .count();
    // the presenter's bar has the room to say how many are hidden; the top bar, at 1280 pixels,
    // has not (the count wrapped its speed read-out onto a second line), and its views have their
    // own toggles there
    let text = match hidden {
        n if n > 0 && presenter_config.is_some() => format!("Show ({n} hidden) ▾"),
        _ => "Show ▾".to_string(),
    };
    let config = egui::containers::menu::MenuConfig::new()
        .close_behavior(egui::PopupCloseBehavior::CloseOnClickOutside);
    let menu = egui::containers::menu::MenuButton::new(text)
        .config(config)
        .ui(ui, |ui| {
            for p in lab.panels() {
                let mut on = shown(lab, presenter_config.as_deref(), p.key);
                if ui
                    .checkbox(&mut on, p.label)
                    .on_hover_text(format!("{} (a lesson's `{}`)", sentence(p.title), p.key))
                    .changed()
                {
                    show(lab, presenter_config.as_deref_mut(), p.key, on);
                }
            }
            ui.separator();
            if ui
                .add_enabled(hidden > 0, egui::Button::new("Show all"))
                .clicked()
            {
                for p in lab.panels() {
                    show(lab, presenter_config.as_deref_mut(), p.key, true);
                }
            }
        });
    menu.0.on_hover_text(
        "Which of the lab's panels show: plots, views, the Runs and config panels (the ones a \
         lesson shows and hides)",
    );
}

/// egui's default proportional font (Ubuntu Light) lacks the symbols the bars and plots use
/// (▶ ■ ↺ → ⁻ and the thin space); the bundled Hack font has them, so it becomes a fallback.
fn install_fonts(ctx: &egui::Context) {
    let mut fonts = egui::FontDefinitions::default();
    if fonts.font_data.contains_key("Hack")
        && let Some(family) = fonts.families.get_mut(&egui::FontFamily::Proportional)
    {
        let at = family
            .iter()
            .position(|f| f == "Ubuntu-Light")
            .map_or(0, |i| i + 1);
        family.insert(at, "Hack".to_owned());
    }
    ctx.set_fonts(fonts);
}

/// `text` as a sentence on its own: its first letter upper case.
fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A worker's wake-up asks for a frame within the gap, not at once: a live run's batches (every
    /// 30 ms) then get one frame per gap. Read from egui's own repaint requests.
    #[test]
    fn a_workers_wake_up_asks_for_a_frame_within_the_gap() {
        let ctx = egui::Context::default();
        let asked = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&asked);
        ctx.set_request_repaint_callback(move |info| seen.lock().unwrap().push(info.delay));
        // frames first, until the context asks for none of its own (its first frames do)
        for _ in 0..5 {
            let mut out = ctx.run_ui(egui::RawInput::default(), |_| {});
            out.textures_delta.clear();
            if !ctx.has_requested_repaint() {
                break;
            }
        }
        assert!(!ctx.has_requested_repaint());
        asked.lock().unwrap().clear();
        let wake = live_waker(ctx.clone());
        wake();
        wake();
        assert_eq!(*asked.lock().unwrap(), vec![LIVE_FRAME_GAP]);
    }
}
