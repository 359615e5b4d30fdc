//! The labs: one slot each. A lab is a type implementing [`LabSlot`] in its own folder here; the
//! shell ([`crate::app::GrokscopeApp`]) only iterates over them, draws the tab of the one shown and
//! hands it the frame's panels, actions and events.
//!
//! Adding a lab: a folder here with a type implementing [`LabSlot`], a variant of [`Lab`], and one line
//! in [`REGISTRY`] (plus the engine layers it needs: config, experiment, store, export).

use super::actions::Action;
use super::backend::Backend;
use super::dialog::FileDialog;
use super::figure_export::FigureSet;
use super::link::{LabLink, Phase, Status};
use crate::config::{ConfigError, FieldProblem};
use eframe::egui::{self, Ui};
use std::any::Any;
use std::fmt;
use std::sync::Arc;
use std::time::Instant;

/// Which lab (the tabs of the window).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lab {
    /// Modular arithmetic: memorisation, then generalisation.
    Grokking,
    /// Memorisation speed vs generalisation speed across model sizes (spec section 2).
    Capacity,
    /// Orderedness of a complete layer under pruning (Song 2025).
    Ordering,
}

/// Builds a lab from its worker and the window's set-up.
type Build = fn(Box<dyn Backend>, &LabSetup<'_>) -> Box<dyn LabSlot>;

/// Every lab in tab order with how it is built: the one place a lab is registered.
const REGISTRY: [(Lab, &str, Build); 3] = [
    (Lab::Grokking, "Grokking", grokking::GrokkingLab::boxed),
    (Lab::Capacity, "Capacity", capacity::CapacityLab::boxed),
    (Lab::Ordering, "Ordering", ordering::OrderingLab::boxed),
];

impl Lab {
    /// Every lab, in tab order.
    pub const ALL: [Lab; REGISTRY.len()] = {
        let mut all = [Lab::Grokking; REGISTRY.len()];
        let mut i = 0;
        while i < REGISTRY.len() {
            all[i] = REGISTRY[i].0;
            i += 1;
        }
        all
    };

    fn entry(self) -> &'static (Lab, &'static str, Build) {
        // Invariant: every variant has its line in REGISTRY (`every_lab_is_registered_once`).
        REGISTRY
            .iter()
            .find(|(lab, ..)| *lab == self)
            .expect("every lab is registered")
    }

    /// The lab's name as its tab shows it (and as lessons and scenes name it, lower-cased).
    pub fn title(self) -> &'static str {
        self.entry().1
    }

    /// The lab named `name` (its title, any case).
    pub fn named(name: &str) -> Option<Lab> {
        Lab::ALL
            .into_iter()
            .find(|lab| lab.title().eq_ignore_ascii_case(name.trim()))
    }

    /// The lab, built around `backend` (its own worker).
    pub fn build(self, backend: Box<dyn Backend>, setup: &LabSetup<'_>) -> Box<dyn LabSlot> {
        (self.entry().2)(backend, setup)
    }
}

impl fmt::Display for Lab {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.title())
    }
}

/// What a lab is given when the window builds it.
pub struct LabSetup<'a> {
    /// The window's context (to wake it from a lab's own threads).
    pub ctx: &'a egui::Context,
    /// File and folder dialogs (tests pass fixed answers).
    pub dialog: Arc<dyn FileDialog>,
    /// Settings kept from the last session, if the window has storage.
    pub storage: Option<&'a dyn eframe::Storage>,
}

/// How often a lab with a run or a job in progress asks for a frame ([`LabSlot::frames_every`]).
pub const FRAMES_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

/// What the shell gives a lab with every action.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LabCtx {
    /// The top bar's speed limit (steps per second; `None`: flat out), sent with a start.
    pub speed: Option<f64>,
}

/// What the top bar's step counter shows on a lab.
#[derive(Clone, Debug, PartialEq)]
pub enum Counter {
    /// A training run's step and epoch, and its rate while it runs.
    Steps {
        step: u64,
        epoch: u64,
        steps_per_sec: Option<f64>,
    },
    /// Free text (a sweep's tasks done).
    Text(String),
}

/// How the top bar's run controls apply to a lab.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Controls {
    /// One run at a time: start, pause, step, stop and the speed limit.
    Run,
    /// Whole tasks on several threads: start and stop only (a sweep cannot pause, step or slow down).
    Tasks,
}

/// Why a lab running whole tasks refuses a pause (the play button's hover and a lesson's `pause` say
/// the same).
pub const TASKS_CANNOT_PAUSE: &str = "a sweep or study cannot pause: its threads run whole tasks; Stop ends it and keeps its results";

/// A part of a lab's window that can be named (to show, hide or highlight it, e.g. in a lesson).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PanelName {
    /// The name a lesson uses (lower case, no spaces).
    pub key: &'static str,
    /// Its name in the Show menu (a word or two, as the window's own toggles name it).
    pub label: &'static str,
    /// What the panel is, in a few words.
    pub title: &'static str,
}

/// A milestone a lab can report (what a lesson waits for): the lesson format's own type.
pub use crate::config::lesson::{CursorAt, Milestone};

/// A lesson's (or a scene's) request to a lab beyond the top bar's actions. Each lab does what it
/// can and refuses the rest with a sentence saying why.
#[derive(Clone, Debug, PartialEq)]
pub enum Teach {
    /// Load the named preset (or study) into the panel; the next [`Teach::Start`] runs it.
    Preset(String),
    /// Load this config (a table, as in a config file) into the panel.
    Config(toml::Table),
    /// Change one setting by its dotted name: in the panel, and live in the running run when the
    /// setting can change live.
    Set { field: String, value: toml::Value },
    /// Start what the panel holds (a run, a sweep or a study); a lesson's Grokking runs are
    /// recorded in a folder so that they can be forked.
    Start,
    /// Fork the current run at the checkpoint nearest before `at` (default: its latest) with one
    /// setting changed; the fork becomes the current run and is drawn over its parent.
    Fork {
        at: Option<Milestone>,
        field: String,
        value: toml::Value,
    },
    /// Move the step cursor of the views.
    Cursor(CursorAt),
    /// Train on: a lesson's step waits for what the run shown has not reached while no run trains
    /// (a scene's run, opened stopped from its folder): it goes on from its newest checkpoint, as the
    /// Runs panel's Continue run does. `Ok("")` when there is nothing to go on with (no run, or it
    /// completed); refused, saying why, when the run cannot go on.
    Continue,
    /// Open a folder (a run folder, a sweep folder).
    Open(std::path::PathBuf),
    /// Show a scene's run: the run folder `dir` at `step` when it is still there (its checkpoints
    /// give the views), else the run's `config` (the panel's when absent) retrained
    /// deterministically to `step`; the panel keeps its own config.
    Restore {
        dir: Option<std::path::PathBuf>,
        step: u64,
        cursor: Option<u64>,
        config: Option<toml::Table>,
    },
}

/// How a lab that shows a sweep (the Capacity tab) shows it, as a scene keeps it: its figure tab,
/// the prime of its per-prime figures, and the speed model's C.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepView {
    /// The figure tab (`crossing`, `bits`, `capacity`, `speed`, `onsets`).
    pub figure: String,
    /// The prime of the per-prime figures (absent: the sweep's first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prime: Option<u32>,
    /// The speed model's C in bits per parameter, as given in the panel (absent: the sweep's own
    /// capacity fit, else the paper's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub c: Option<f64>,
    /// Where `c` came from when it was picked from a sweep that measured it ("measured by …", as the
    /// figures' notes and JSON say it); absent: given in the scene.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub c_source: Option<String>,
    /// `c` is only a lower bound (a measured "C ≥").
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub c_lower_bound: bool,
}

/// What a scene keeps of a lab (see [`LabSlot::scene`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LabScene {
    /// The panel's config, as a config file's table.
    pub config: toml::Table,
    /// The current run: its folder (if recorded) and its latest step.
    pub run: Option<(Option<std::path::PathBuf>, u64)>,
    /// The step the views show (`None`: the latest).
    pub cursor: Option<u64>,
    /// The current run's own config as it started (the panel's may have been edited since), as a
    /// config file's table: what training it again runs.
    pub run_config: Option<toml::Table>,
    /// What the run did that training its config again from step 0 would not do ("was forked from
    /// …", "changed wd → 0 from step 400"), in step order; empty when its config alone gives it back.
    pub changed: Vec<String>,
}

/// The settings `history`'s run changed mid-run, in words ("wd → 0 from step 400"), in step order.
pub fn changes_of(history: &crate::store::RunHistory) -> Vec<String> {
    history
        .markers()
        .iter()
        .filter_map(|m| match m.kind {
            crate::store::MarkerKind::Change(c) => {
                Some(format!("changed {c} from step {}", m.step))
            }
            crate::store::MarkerKind::Grok(_) => None,
        })
        .collect()
}

/// `table` read as a config of type `T` and checked by `validate`, or the first problem in words.
pub fn checked_config<T: serde::de::DeserializeOwned, E: std::fmt::Display>(
    table: &toml::Table,
    validate: impl FnOnce(&T) -> Result<(), E>,
) -> Result<T, String> {
    let cfg: T = from_table(table.clone())?;
    validate(&cfg).map_err(|e| e.to_string())?;
    Ok(cfg)
}

/// `cfg` with the dotted `field` set to `value`, read back through the config's own type (an unknown
/// field or a wrong type is refused, naming it).
pub fn with_setting<T>(cfg: &T, field: &str, value: &toml::Value) -> Result<T, String>
where
    T: serde::Serialize + serde::de::DeserializeOwned,
{
    let mut table = table_of(cfg)?;
    let unknown = || format!("no setting `{field}`");
    if !crate::config::lesson::set_dotted(&mut table, field, value) {
        return Err(unknown());
    }
    let out: T = from_table(table).map_err(|e| format!("`{field} = {value}`: {e}"))?;
    // a config that ignores unknown fields read it back without it: then it has no such setting
    let back = table_of(&out)?;
    let mut parts = field.split('.');
    let mut v = parts.next().and_then(|p| back.get(p));
    for p in parts {
        v = v.and_then(|x| x.get(p));
    }
    v.map(|_| out).ok_or_else(unknown)
}

/// A config as a config file's table.
pub fn table_of<T: serde::Serialize>(cfg: &T) -> Result<toml::Table, String> {
    toml::Table::try_from(cfg).map_err(|e| format!("the config cannot be written as TOML: {e}"))
}

/// A config read from a config file's table (unknown fields and wrong types refused).
pub fn from_table<T: serde::de::DeserializeOwned>(table: toml::Table) -> Result<T, String> {
    toml::Value::Table(table)
        .try_into()
        .map_err(|e: toml::de::Error| e.message().trim().to_string())
}

/// One lab of the window: its config panel, its views, how it applies the top bar's actions and takes
/// its worker's events, its status line, its figures, and what a lesson needs to drive it.
pub trait LabSlot: Any {
    /// Which lab this is.
    fn lab(&self) -> Lab;
    /// The lab's worker, run tracker and status line.
    fn link(&self) -> &LabLink;
    fn link_mut(&mut self) -> &mut LabLink;

    /// The phase of the lab's run (or sweep, or study).
    fn phase(&self) -> Phase {
        self.link().phase()
    }
    /// The step cursor of the views (`None`: they follow the latest) and the latest step of the run
    /// shown; `None` for a lab with no step cursor or no run. A lesson records it where each step
    /// ended, to show that moment again when the step is gone back to.
    fn shown_steps(&self) -> Option<(Option<u64>, u64)> {
        None
    }
    /// Show the run as it was at `step` (a lesson's step gone back to, where it ended, the run
    /// having gone on since): the plots veil what came after it and mark it "later"; `None`: the
    /// whole run again. A lab with no step cursor ignores it.
    fn show_as_of(&mut self, _step: Option<u64>) {}
    /// The status bar's word for the phase ([`Phase::word`]).
    fn phase_word(&self) -> &'static str {
        self.phase().word()
    }
    /// The lab's status line.
    fn status(&self) -> &Status {
        self.link().status()
    }
    /// How the top bar's run controls apply.
    fn controls(&self) -> Controls {
        Controls::Run
    }
    /// Why a pause is refused now ([`TASKS_CANNOT_PAUSE`] while a sweep or study runs), or `None`
    /// where a pause may be asked (it does nothing unless a run is going).
    fn pause_refused(&self) -> Option<&'static str> {
        let going = matches!(self.phase(), Phase::Starting | Phase::Running);
        (going && self.controls() == Controls::Tasks).then_some(TASKS_CANNOT_PAUSE)
    }
    /// The speed limit the top bar starts with on this lab (steps a second; `None`: flat out). Each lab
    /// keeps its own limit, as each has its own run.
    fn default_speed(&self) -> Option<f64> {
        None
    }
    /// The top bar's counter.
    fn counter(&self) -> Counter;
    /// Parameters of the model shown and rows dropped as out of order (the status bar's counts).
    fn counts(&self) -> (Option<u64>, usize) {
        (None, 0)
    }
    /// Problems with the config in the panel (each field once), shown in the bars.
    fn problems(&self) -> Vec<FieldProblem>;

    /// Take the worker's events (and the lab's own jobs' answers) until `deadline`; true if some may
    /// still be waiting.
    fn drain(&mut self, deadline: Instant) -> bool;
    /// How often the lab needs a frame while nothing arrives, if it does (a run or a job in
    /// progress): a quarter of a second keeps a run's step rate moving between the worker's wake-ups
    /// (each batch of rows wakes the window by itself).
    fn frames_every(&self) -> Option<std::time::Duration> {
        self.phase().active().then_some(FRAMES_EVERY)
    }

    /// The left panel: the lab's config.
    fn config_ui(&mut self, ui: &mut Ui, problems: &[FieldProblem]) -> Action;
    /// Panels beside the centre (drawn before it), if the lab has any; returns its own requests applied.
    fn side_panels_ui(&mut self, _ui: &mut Ui) {}
    /// The centre: the lab's views.
    fn centre_ui(&mut self, ui: &mut Ui) -> Action;
    /// Apply a request from the bars, a view or a lesson.
    fn apply(&mut self, action: Action, ctx: LabCtx);

    /// The figures the Export figure window offers for this lab now.
    fn figure_set(&self) -> FigureSet;
    /// Keep the settings that outlive a session.
    fn save(&self, _storage: &mut dyn eframe::Storage) {}

    /// The names of the lab's presets, in the panel's order (what a lesson may choose).
    fn preset_names(&self) -> Vec<&'static str>;
    /// The lab's named panels (what a lesson may show, hide or highlight).
    fn panels(&self) -> &'static [PanelName];
    /// Whether the lab's current run (or sweep) has reached `milestone`.
    fn reached(&self, milestone: Milestone) -> bool;

    /// Do what a lesson or a scene asks (see [`Teach`]); what happened, for the status line, or why not.
    fn teach(&mut self, request: Teach, ctx: LabCtx) -> Result<String, String>;
    /// Show or hide the panel `key` (one of [`LabSlot::panels`]).
    fn show_panel(&mut self, key: &str, shown: bool) {
        self.link_mut().panels.set_shown(key, shown);
    }
    /// Whether the panel `key` shows.
    fn panel_shown(&self, key: &str) -> bool {
        self.link().panels.shown(key)
    }
    /// The lab's view options (what a lesson's `view` may turn on or off): how its panels draw.
    fn view_options(&self) -> &'static [&'static str] {
        &[]
    }
    /// Whether the view option `key` (one of [`LabSlot::view_options`]) is on; `None` for another key.
    fn view_option(&self, _key: &str) -> Option<bool> {
        None
    }
    /// Turn the view option `key` on or off; false for a key the lab does not have.
    fn set_view_option(&mut self, _key: &str, _on: bool) -> bool {
        false
    }
    /// The curves' smoothing weight, for a lab whose plots have the smoothing slider (`None`: no
    /// slider).
    fn smoothing(&self) -> Option<f64> {
        None
    }
    /// Set the curves' smoothing weight (in `[0, MAX_WEIGHT]`); false for a lab without the slider.
    fn set_smoothing(&mut self, _w: f64) -> bool {
        false
    }
    /// The sweep view a scene keeps (figure tab, prime, the speed model's C), for a lab that shows
    /// a sweep.
    fn sweep_view(&self) -> Option<SweepView> {
        None
    }
    /// The names of the sweep figures [`SweepView::figure`] may give (none: the lab shows no sweep).
    fn figure_names(&self) -> Vec<&'static str> {
        vec![]
    }
    /// Whether `view` is one this lab can show, or why not (checked before a scene changes
    /// anything).
    fn check_sweep_view(&self, _view: &SweepView) -> Result<(), String> {
        Err(format!("sweep: the {} lab shows no sweep", self.lab()))
    }
    /// Show the sweep view `view` (checked by [`LabSlot::check_sweep_view`]).
    fn set_sweep_view(&mut self, _view: &SweepView) {}
    /// What a scene keeps of the lab: the panel's config, the current run and the step cursor.
    fn scene(&self) -> LabScene;
    /// Whether `table` is a config this lab takes (as a config file's table), or why not: a scene is
    /// checked in full before anything in the window changes.
    fn check_config(&self, table: &toml::Table) -> Result<(), String>;

    /// For typed access to one lab (tests and the lab's own accessors).
    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

/// The parts of a [`LabSlot`] impl that every lab writes the same way: which lab it is, its link (a
/// field `link`), and typed access. Used inside `impl LabSlot for ... { ... }`.
macro_rules! slot_basics {
    ($lab:expr) => {
        fn lab(&self) -> $crate::app::labs::Lab {
            $lab
        }

        fn link(&self) -> &$crate::app::link::LabLink {
            &self.link
        }

        fn link_mut(&mut self) -> &mut $crate::app::link::LabLink {
            &mut self.link
        }

        fn as_any(&self) -> &dyn ::std::any::Any {
            self
        }

        fn as_any_mut(&mut self) -> &mut dyn ::std::any::Any {
            self
        }
    };
}
pub(crate) use slot_basics;

/// [`Preset`] for a preset struct with fields `name`, `title` and `config: $config`.
macro_rules! preset_fields {
    ($preset:ty, $config:ty) => {
        impl $crate::app::labs::Preset for $preset {
            type Config = $config;
            fn name(&self) -> &'static str {
                self.name
            }
            fn title(&self) -> &'static str {
                self.title
            }
            fn config(&self) -> &$config {
                &self.config
            }
        }
    };
}
pub(crate) use preset_fields;

pub mod capacity;
pub mod grokking;
pub mod ordering;

/// A named starting point of a lab (its panel's preset picker).
pub trait Preset {
    type Config: Clone;
    /// The short name (CLI, lessons).
    fn name(&self) -> &'static str;
    /// The title the picker shows.
    fn title(&self) -> &'static str;
    fn config(&self) -> &Self::Config;
}

/// A lab's presets and which one was chosen last: the panel's preset picker.
#[derive(Clone, Debug)]
pub struct PresetList<P> {
    presets: Vec<P>,
    chosen: usize,
}

impl<P: Preset> PresetList<P> {
    /// The list with its first preset chosen, and that preset's config (the launch default).
    /// Invariant: every lab's preset list is fixed and non-empty (checked by each lab's tests).
    pub fn new(presets: Vec<P>) -> (Self, P::Config) {
        let first = presets
            .first()
            .expect("every lab has at least one preset")
            .config()
            .clone();
        (Self { presets, chosen: 0 }, first)
    }

    pub fn all(&self) -> &[P] {
        &self.presets
    }

    /// Index of the preset chosen last.
    pub fn chosen(&self) -> usize {
        self.chosen
    }

    /// The preset chosen last.
    pub fn current(&self) -> Option<&P> {
        self.presets.get(self.chosen)
    }

    /// Choose preset `i`: its config and the status line saying so; `None` (nothing changes) when
    /// there is no such preset.
    pub fn choose(&mut self, i: usize) -> Option<(P::Config, String)> {
        let p = self.presets.get(i)?;
        self.chosen = i;
        Some((
            p.config().clone(),
            format!("preset {}: {}", p.name(), p.title()),
        ))
    }

    /// Mark preset `i` as the one shown (e.g. a folder's config matched it).
    pub fn mark(&mut self, i: usize) {
        if i < self.presets.len() {
            self.chosen = i;
        }
    }

    /// The index of the preset named `name` (a lesson's choice), or why `lab` has none.
    pub fn index_of(&self, lab: Lab, name: &str) -> Result<usize, String> {
        self.presets
            .iter()
            .position(|p| p.name() == name)
            .ok_or_else(|| format!("the {lab} lab has no preset `{name}`"))
    }

    /// The presets' names in order.
    pub fn names(&self) -> Vec<&'static str> {
        self.presets.iter().map(P::name).collect()
    }

    /// Name of the preset chosen last.
    pub fn current_name(&self) -> Option<&'static str> {
        self.current().map(P::name)
    }
}

/// The first problem as the status line says it (`{what} refused: field: message`), or `None`.
/// A draft checked into its valid type (the window's edge for a run it starts), or the refusal of
/// `what` naming the first problem (as [`refusal`] says it).
pub fn checked<R, V: TryFrom<R, Error = ConfigError>>(what: &str, draft: R) -> Result<V, String> {
    V::try_from(draft)
        .map_err(|e| refusal(what, &e.problems).unwrap_or_else(|| format!("{what} refused: {e}")))
}

pub fn refusal(what: &str, problems: &[FieldProblem]) -> Option<String> {
    problems
        .first()
        .map(|p| format!("{what} refused: {}: {}", p.field, p.message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_lab_is_registered_once() {
        for lab in [Lab::Grokking, Lab::Capacity, Lab::Ordering] {
            let n = REGISTRY.iter().filter(|(l, ..)| *l == lab).count();
            assert_eq!(n, 1, "{lab:?}");
        }
        assert_eq!(Lab::ALL, [Lab::Grokking, Lab::Capacity, Lab::Ordering]);
        assert_eq!(Lab::named(" ordering"), Some(Lab::Ordering));
        assert_eq!(Lab::named("nope"), None);
    }

    #[test]
    fn every_lab_builds_and_names_its_panels_and_presets() {
        let ctx = egui::Context::default();
        let setup = LabSetup {
            ctx: &ctx,
            dialog: Arc::new(crate::app::dialog::FixedPathDialog(None)),
            storage: None,
        };
        for lab in Lab::ALL {
            let slot = lab.build(Box::new(crate::app::backend::Unattached::default()), &setup);
            assert_eq!(slot.lab(), lab);
            // a lesson names panels by key: unique, lower case, and every lab has its config panel
            let keys: Vec<&str> = slot.panels().iter().map(|p| p.key).collect();
            assert!(keys.contains(&"config"), "{lab}: {keys:?}");
            let mut unique = keys.clone();
            unique.sort_unstable();
            unique.dedup();
            assert_eq!(unique.len(), keys.len(), "{lab}: {keys:?}");
            assert!(
                keys.iter()
                    .all(|k| *k == k.to_lowercase() && !k.contains(' '))
            );
            assert!(!slot.preset_names().is_empty(), "{lab}");
            // nothing has run: no milestone is reached
            for m in [
                Milestone::Memorised,
                Milestone::Generalised,
                Milestone::Finished,
                Milestone::Step(1),
                Milestone::Tasks(1),
            ] {
                assert!(!slot.reached(m), "{lab}: {m:?}");
            }
        }
    }

    /// The lesson format checks panel keys, presets and view options against its own table of the labs
    /// (`config::lesson`, which cannot see the window): it must say what the labs declare.
    #[test]
    fn lessons_know_the_labs_panels_and_presets() {
        use crate::config::lesson::LessonLab;
        let ctx = egui::Context::default();
        let setup = LabSetup {
            ctx: &ctx,
            dialog: Arc::new(crate::app::dialog::FixedPathDialog(None)),
            storage: None,
        };
        for l in LessonLab::ALL {
            let lab = Lab::named(l.name()).expect("every lesson lab is a tab");
            let slot = lab.build(Box::new(crate::app::backend::Unattached::default()), &setup);
            let keys: Vec<&str> = slot.panels().iter().map(|p| p.key).collect();
            assert_eq!(keys, l.panel_keys(), "{lab}");
            assert_eq!(slot.preset_names(), l.preset_names(), "{lab}");
            assert_eq!(slot.view_options(), l.view_options(), "{lab}");
            assert_eq!(slot.figure_names(), l.figure_names(), "{lab}");
        }
        assert_eq!(LessonLab::ALL.len(), Lab::ALL.len());
    }

    struct Named(&'static str, u32);

    impl Preset for Named {
        type Config = u32;
        fn name(&self) -> &'static str {
            self.0
        }
        fn title(&self) -> &'static str {
            "title"
        }
        fn config(&self) -> &u32 {
            &self.1
        }
    }

    #[test]
    fn presets_choose_and_refuse() {
        let (mut l, first) = PresetList::new(vec![Named("a", 1), Named("b", 2)]);
        assert_eq!(first, 1);
        assert_eq!(l.current_name(), Some("a"));
        assert_eq!(l.choose(1), Some((2, "preset b: title".to_string())));
        assert_eq!(l.choose(5), None);
        assert_eq!(l.chosen(), 1);
        assert_eq!(l.names(), ["a", "b"]);
    }
}
