//! What a lesson or a scene asks of the Grokking lab ([`Teach`]): presets and phase studies, settings
//! (live ones go to the running run), starts recorded in a lesson folder (so they can be forked),
//! forks at a milestone, the step cursor, run folders, and a scene's run brought back.

use super::GrokkingLab;
use super::insight_views::View;
use super::run_files::{self, FolderUse, RunRef, RunsAction};
use crate::app::actions::Action;
use crate::app::labs::{
    CursorAt, LabCtx, LabScene, LabSlot, Milestone, Teach, checked_config, table_of, with_setting,
};
use crate::config::phase::phase_presets;
use crate::config::{
    GrokkingConfig, PhaseStudyConfig, ValidGrokkingConfig, ValidPhaseStudyConfig, ValidRunConfig,
};
use crate::protocol::{GrokEvent, HyperChange};
use crate::store::MarkerKind;
use crate::store::run_dir::list_checkpoints;
use std::path::{Path, PathBuf};

impl GrokkingLab {
    /// Record the runs this window starts unsaved (a lesson's, a plain Start's with autosave off) in
    /// `dir` instead of the system's temporary folder, and remove `dir`, whole, when the lab is
    /// dropped (the tests give each window a folder of their own, so that no test leaves runs
    /// behind).
    pub fn temp_runs_in_owned_folder(&mut self, dir: PathBuf) {
        self.temp_runs.owned = Some(dir);
    }

    pub(super) fn teach_request(&mut self, request: Teach, ctx: LabCtx) -> Result<String, String> {
        self.speed = ctx.speed;
        // a scene's panel is for the scene's own start alone (`restore` sets it again)
        self.scene_panel = None;
        match request {
            Teach::Preset(name) => {
                if let Some(i) = self.presets.names().iter().position(|n| *n == name) {
                    self.lesson_study = None;
                    self.apply(Action::SelectPreset(i), ctx);
                    return Ok(format!("preset {name}"));
                }
                let studies = phase_presets();
                let i = studies
                    .iter()
                    .position(|p| p.name == name)
                    .ok_or_else(|| format!("the Grokking lab has no preset or study `{name}`"))?;
                self.phase_preset = i;
                self.lesson_study = Some(Box::new(studies[i].config.clone()));
                self.insight_view.set_visible(View::Phase, true);
                Ok(format!("phase study {name}: {}", studies[i].title))
            }
            Teach::Config(table) => {
                let cfg = checked_config(&table, GrokkingConfig::validate)?;
                self.lesson_study = None;
                self.draft = cfg;
                Ok("config loaded".into())
            }
            Teach::Set { field, value } => self.set(&field, &value, ctx),
            Teach::Start => {
                if let Some(study) = self.lesson_study.clone() {
                    let study =
                        ValidPhaseStudyConfig::try_from(*study).map_err(|e| e.to_string())?;
                    self.phase_clicked = None;
                    // each of its runs at the lesson's pace for the lab (a `speed` before the
                    // start), so that the room sees the map fill in
                    self.link
                        .launch(ValidRunConfig::PhaseStudy(study), ctx.speed);
                    return Ok("phase study started".into());
                }
                let config =
                    ValidGrokkingConfig::try_from(self.draft.clone()).map_err(|e| e.to_string())?;
                let dir = self
                    .temp_runs
                    .run_dir(&format!("run wd {}", self.draft.optim.weight_decay));
                self.with_runs(|files, c| files.start_in(c, config, Some(dir)));
                self.plots.follow_latest();
                self.insight_view.pinned = None;
                Ok(String::new())
            }
            Teach::Fork { at, field, value } => self.fork(at, &field, &value),
            Teach::Continue => self.go_on(),
            Teach::Cursor(at) => {
                self.insight_view.pinned = match at {
                    CursorAt::Step(s) => Some(s),
                    CursorAt::Latest => None,
                };
                Ok(String::new())
            }
            Teach::Open(dir) => {
                self.apply_runs(RunsAction::Typed(FolderUse::Open, dir.clone()));
                Ok(format!("opening {}", dir.display()))
            }
            Teach::Restore {
                dir,
                step,
                cursor,
                config,
            } => self.restore(dir.as_deref(), step, cursor, config),
        }
    }

    /// `field = value` in the panel (or in the chosen study); a live setting also goes to the run.
    fn set(&mut self, field: &str, value: &toml::Value, ctx: LabCtx) -> Result<String, String> {
        if let Some(study) = &self.lesson_study {
            let s: PhaseStudyConfig = with_setting(study.as_ref(), field, value)?;
            s.validate().map_err(|e| e.to_string())?;
            self.lesson_study = Some(Box::new(s));
            return Ok(format!("{field} = {value}"));
        }
        let cfg: GrokkingConfig = with_setting(&self.draft, field, value)?;
        cfg.validate().map_err(|e| e.to_string())?;
        let live = match field {
            "optim.lr" => Some(HyperChange::Lr(cfg.optim.lr)),
            "optim.weight_decay" => Some(HyperChange::WeightDecay(cfg.optim.weight_decay)),
            _ => None,
        };
        self.draft = cfg;
        match live {
            Some(change) if self.phase().active() => {
                self.apply(Action::Change(change), ctx);
                Ok(format!("{change} (live)"))
            }
            _ => Ok(format!("{field} = {value}")),
        }
    }

    /// A lesson's step trains on while no run trains ([`Teach::Continue`]): the run shown, stopped
    /// before its end (a scene's run, opened from its folder), goes on from its newest checkpoint in
    /// its folder, as the Runs panel's Continue run does; the lesson said "finished" and waited for
    /// nothing (a teacher's audit). A run that completed, or none, has nothing to go on with.
    fn go_on(&mut self) -> Result<String, String> {
        let Some((step, _)) = self.history.latest() else {
            return Ok(String::new());
        };
        let study = self.phase.run.is_some_and(|r| self.link.runs.is_current(r));
        // (a study a lesson chose or ran is started again, not continued)
        if self.phase().active() || study || self.lesson_study.is_some() {
            return Ok(String::new());
        }
        if run_files::completed(&self.history) {
            if self.files.current.dir.is_some() && self.files.current.dir == self.scene_retrained {
                return Err(format!(
                    "this run was trained again only up to the scene's step {step} (its folder \
                     had gone), so it cannot go on: ↺ Restart plays the lesson from its start"
                ));
            }
            return Ok(String::new());
        }
        self.apply_runs(RunsAction::Resume(RunRef::Current));
        if self.phase().active() {
            Ok(format!(
                "the run goes on from its newest checkpoint (it had stopped at step {step})"
            ))
        } else {
            // the Runs panel's refusal, on the status line too
            Err(format!(
                "the run stopped at step {step} cannot go on: {}",
                self.link.status().text
            ))
        }
    }

    /// The step of milestone `m` in the current run, if it reached it.
    fn step_of(&self, m: Milestone) -> Option<u64> {
        let grok = |e: GrokEvent| {
            self.history
                .markers()
                .iter()
                .find(|k| k.kind == MarkerKind::Grok(e))
                .map(|k| k.step)
        };
        match m {
            Milestone::Memorised => grok(GrokEvent::Memorised),
            Milestone::Generalised => grok(GrokEvent::Generalised),
            Milestone::Step(n) => Some(n),
            Milestone::Finished | Milestone::Tasks(_) => self.history.latest().map(|(s, _)| s),
        }
    }

    fn fork(
        &mut self,
        at: Option<Milestone>,
        field: &str,
        value: &toml::Value,
    ) -> Result<String, String> {
        let dir = self
            .files
            .current
            .dir
            .clone()
            .ok_or("the current run has no folder (only recorded runs fork): start it from the lesson or save it first")?;
        let parent = self
            .history
            .config()
            .cloned()
            .ok_or("there is no run to fork: start one first")?;
        let latest = self.history.latest().map_or(0, |(s, _)| s);
        // a milestone the run has not reached (a skipped wait): its latest checkpoint, said so
        let (want, not_reached) = match at.map(|m| (m, self.step_of(m))) {
            Some((_, Some(step))) => (step, None),
            Some((m, None)) => (latest, Some(m)),
            None => (latest, None),
        };
        // a directory listing only: the run folder's tables are not read on the UI thread
        let checkpoints = list_checkpoints(&dir).map_err(|e| e.to_string())?;
        let step = checkpoints
            .iter()
            .map(|c| c.step)
            .filter(|s| *s <= want)
            .max()
            .ok_or_else(|| {
                format!(
                    "{} has no checkpoint at or before step {want}",
                    dir.display()
                )
            })?;
        let config: GrokkingConfig = with_setting(&parent, field, value)?;
        config.validate().map_err(|e| e.to_string())?;
        let changes = crate::config::fork_changes(&parent, &config).map_err(|e| e.to_string())?;
        // named as the plots' legends show it to a class: "2-fork_wd_0"
        let short = match field.rsplit('.').next().unwrap_or(field) {
            "weight_decay" => "wd",
            other => other,
        };
        let value = match value {
            toml::Value::Float(v) => v.to_string(),
            other => other.to_string(),
        };
        let out = self.temp_runs.run_dir(&format!("fork {short} {value}"));
        self.with_runs(|files, c| files.fork_current(c, step, config, Some(out)))?;
        self.plots.follow_latest();
        self.insight_view.pinned = None;
        let why = not_reached.map_or(String::new(), |m| {
            format!(" (the run had not reached `{m}`: its latest checkpoint)")
        });
        Ok(format!(
            "forked at step {step}{why}: {}",
            changes.join(", ")
        ))
    }

    /// A scene's run: its folder when it is there (views from its saved weights), else its own
    /// config (`config`; the panel's when absent) retrained to `step` (same config and seed: the same
    /// numbers). The panel keeps its config.
    fn restore(
        &mut self,
        dir: Option<&Path>,
        step: u64,
        cursor: Option<u64>,
        config: Option<toml::Table>,
    ) -> Result<String, String> {
        if let Some(dir) = dir.filter(|d| d.is_dir()) {
            self.scene_pending = Some((dir.to_path_buf(), cursor, self.link.runs.marker()));
            self.apply_runs(RunsAction::Typed(FolderUse::Open, dir.to_path_buf()));
            return Ok(format!(
                "scene: re-created from the run folder {} (its checkpoints give the views)",
                dir.display()
            ));
        }
        let mut cfg = match config {
            Some(table) => checked_config(&table, GrokkingConfig::validate)
                .map_err(|e| format!("run.config: {e}"))?,
            None => self.draft.clone(),
        };
        let per_epoch = cfg.steps_per_epoch().max(1);
        cfg.max_epochs = step.div_ceil(per_epoch).max(1);
        // the epoch cap is the scene's step in epochs: a step past what a run may train is named
        // as the scene's, not as a max_epochs the user never wrote
        let cfg = ValidGrokkingConfig::try_from(cfg).map_err(|e| {
            if e.to_string().contains("max_epochs") {
                format!(
                    "run.step: {step} is more than a run of this config may train ({} epochs of \
                     {per_epoch} steps at most)",
                    crate::config::MAX_EPOCHS
                )
            } else {
                e.to_string()
            }
        })?;
        let shown = self.draft.clone();
        // flat out, whatever the top bar's limit: the scene's own limit comes once the run is back
        // (the window applies it when the run has ended)
        self.speed = None;
        // recorded as any run not autosaved is, so that it can be forked or saved later
        let dir = self.temp_runs.run_dir(&format!("scene step {step}"));
        // (it ends at the scene's step: a lesson cannot train it on, and says so)
        self.scene_retrained = Some(dir.clone());
        self.with_runs(|files, c| files.start_in(c, cfg, Some(dir)));
        // the run stops at the scene's step; the panel shows the scene's config, also once the run
        // has started
        self.scene_panel = Some(shown.clone());
        self.draft = shown;
        self.insight_view.pinned = cursor;
        Ok(format!(
            "scene: retraining the run to step {step} (same config and seed: the same numbers; the \
             counter shows how far it is)"
        ))
    }

    pub(super) fn scene_state(&self) -> LabScene {
        let run = self.history.latest().map(|(s, _)| s);
        let mut changed = Vec::new();
        if run.is_some()
            && let Some((parent, step)) = &self.files.current.parent
        {
            changed.push(format!(
                "was forked from {} at step {step}",
                parent.display()
            ));
        }
        changed.extend(super::super::changes_of(&self.history));
        LabScene {
            config: table_of(&self.draft).unwrap_or_default(),
            run: run.map(|s| (self.files.current.dir.clone(), s)),
            cursor: self.insight_view.pinned,
            run_config: self.history.config().and_then(|c| table_of(c).ok()),
            changed,
        }
    }
}
