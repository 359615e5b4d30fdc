//! Scenes: the window's picture saved as a small TOML file (the lab, its config and seed, the run and
//! its step, the step cursor, the panels shown, the presenter layout, the lesson and its step), and
//! opened again to get the same picture back. A Grokking run comes back from its run folder when it
//! is still there (its checkpoints give the views); otherwise, and for an Ordering run, the config is
//! trained again to the saved step: same config and seed, so the same numbers. A sweep comes back by
//! opening its folder (the one it was written into or read from), on the figure it showed.
//!
//! A scene is checked in full before anything changes: a refused file leaves the window as it was.

use super::player::LessonPlayer;
use super::presenter::{Presenter, SCALES};
use crate::analysis::smooth::MAX_WEIGHT;
use crate::app::labs::{CursorAt, Lab, LabCtx, LabSlot, SweepView, Teach};
use crate::config::lesson::{Lesson, ValidLesson, bundled};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The format's version this build writes and reads.
pub const VERSION: u32 = 1;

/// The largest scene file read (a scene is a few kilobytes).
const MAX_SCENE_BYTES: u64 = 4 << 20;

/// A scene file.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Scene {
    /// The format's version ([`VERSION`]).
    pub grokscope_scene: u32,
    /// The lab shown (its tab's name).
    pub lab: String,
    /// The presenter view was on, at this scale.
    #[serde(default)]
    pub presenter: bool,
    #[serde(default = "default_scale")]
    pub scale: f32,
    /// The scale followed the window's size (`scale` is then what it was there); absent in scenes
    /// saved before the scale could follow, which keep their scale.
    #[serde(default)]
    pub fit_scale: bool,
    /// The presenter view showed the config panel without a lesson (its Show menu); absent: not.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub presenter_config: bool,
    /// The lab's panels that were hidden (by key).
    #[serde(default)]
    pub hidden: Vec<String>,
    /// The lab's view options (`log_steps`, `outputs_last`: what a lesson's `view` step names) as
    /// they were; absent in scenes saved before they were kept, which leave them as they are.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub views: BTreeMap<String, bool>,
    /// The curves' smoothing weight (the Grokking plots' slider, 0 = off); absent for a lab
    /// without the slider, and in scenes saved before it was kept (the slider then stays as it is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smoothing: Option<f64>,
    /// How the Capacity tab showed its sweep (figure tab, prime, the speed model's C); absent for
    /// another lab, and in scenes saved before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep: Option<SweepView>,
    /// The step the views showed (absent: the latest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<u64>,
    /// The top bar's speed limit, steps a second (absent: none). Applied once the scene's run is
    /// back: retraining it goes flat out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed: Option<f64>,
    /// The current run, if there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<SceneRun>,
    /// The lesson being played, if one was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lesson: Option<SceneLesson>,
    /// The lab's config in the panel (with its seed), as in a config file.
    pub config: toml::Table,
}

fn default_scale() -> f32 {
    Presenter::default().scale
}

/// The run of a scene.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SceneRun {
    /// The step it had reached (a sweep: the tasks it had finished).
    pub step: u64,
    /// Its run folder, when it was recorded (a sweep: the folder it was written into or read from).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dir: Option<PathBuf>,
    /// What the run did that training its config again would not repeat ("was forked from …",
    /// "changed wd → 0 from step 400"): such a run comes back only from its folder.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changed: Vec<String>,
    /// The run's own config as it started (absent: the scene's `config`), trained again when its
    /// folder is not there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<toml::Table>,
}

impl SceneRun {
    /// Why the run cannot come back, if it cannot: it did what training its config again would not
    /// repeat, and its folder is not (or no longer) there.
    pub fn cannot_come_back(&self) -> Option<String> {
        if self.changed.is_empty() {
            return None;
        }
        let changed = self.changed.join(", ");
        Some(match &self.dir {
            Some(dir) if dir.is_dir() => return None,
            Some(dir) => format!(
                "its folder {} is not there, and the run {changed}, which training its config \
                 again from step 0 would not repeat",
                dir.display()
            ),
            None => format!(
                "the run {changed}, which training its config again from step 0 would not \
                 repeat, and it has no folder to come back from"
            ),
        })
    }
}

/// The lesson of a scene.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SceneLesson {
    /// `bundled:NAME` or a lesson file's path.
    pub source: String,
    /// The step shown (from 1, as the window counts).
    pub step: usize,
}

/// Read a lesson from where a scene (or the window) names it: `bundled:NAME` or a file.
pub fn load_lesson(source: &str) -> Result<ValidLesson, String> {
    if let Some(name) = source.strip_prefix("bundled:") {
        return bundled(name.trim())
            .ok_or_else(|| format!("there is no bundled lesson `{name}`"))?
            .map_err(|e| e.located(&format!("assets/lessons/{name}.toml")));
    }
    let path = Path::new(source);
    let bytes = crate::store::files::read_bounded(path, 1 << 20).map_err(|e| {
        // a bundled lesson's name mistyped reads as a missing file: both are named
        if e.kind() == std::io::ErrorKind::NotFound && path.components().count() == 1 {
            let names: Vec<&str> = crate::config::lesson::BUNDLED
                .iter()
                .map(|(n, _)| *n)
                .collect();
            format!(
                "{source}: there is no bundled lesson of that name (they are: {}) and no file",
                names.join(", ")
            )
        } else {
            format!("{source}: cannot be read: {e}")
        }
    })?;
    let text = String::from_utf8(bytes).map_err(|e| format!("{source}: not UTF-8 text: {e}"))?;
    Lesson::parse(&text).map_err(|e| e.located(source))
}

impl Scene {
    /// The scene of the window now.
    pub fn capture(
        lab: &dyn LabSlot,
        presenter: &Presenter,
        player: Option<&LessonPlayer>,
        speed: Option<f64>,
    ) -> Scene {
        let state = lab.scene();
        Scene {
            grokscope_scene: VERSION,
            lab: lab.lab().title().to_lowercase(),
            presenter: presenter.on,
            scale: presenter.scale,
            fit_scale: presenter.fit,
            presenter_config: presenter.config,
            hidden: lab
                .panels()
                .iter()
                .filter(|p| !lab.panel_shown(p.key))
                .map(|p| p.key.to_string())
                .collect(),
            views: lab
                .view_options()
                .iter()
                .filter_map(|k| Some((k.to_string(), lab.view_option(k)?)))
                .collect(),
            smoothing: lab.smoothing(),
            sweep: lab.sweep_view(),
            cursor: state.cursor,
            speed,
            run: state.run.map(|(dir, step)| SceneRun {
                step,
                dir,
                changed: state.changed,
                config: state.run_config,
            }),
            lesson: player.map(|p| SceneLesson {
                source: p.source.clone(),
                step: p.position().0 + 1,
            }),
            config: state.config,
        }
    }

    pub fn to_toml(&self) -> String {
        // numbers, strings, paths and tables always serialise
        toml::to_string_pretty(self).unwrap_or_default()
    }

    /// Write the scene to `path` (atomically: an old file there stays whole until the new one is).
    /// Refused, with nothing written, when the scene could not bring its run back
    /// ([`SceneRun::cannot_come_back`]): opening it would show another run; and when a file is there
    /// already ([`Self::may_replace`]), unless it is a scene and `replace` says the user chose to
    /// replace it.
    pub fn save(&self, path: &Path, replace: bool) -> Result<(), String> {
        Self::may_replace(path, replace)?;
        if let Some(why) = self.run.as_ref().and_then(SceneRun::cannot_come_back) {
            let what_to_do = match self.lab() {
                Some(Lab::Grokking) => "save the run from the Runs panel first",
                _ => "this lab keeps no run folders: start the run again with the setting changed",
            };
            return Err(format!(
                "scene not saved: {why} ({what_to_do}, then save the scene)"
            ));
        }
        crate::store::files::write_atomic(path, self.to_toml().as_bytes())
            .map_err(|e| format!("cannot write {}: {e}", path.display()))
    }

    /// Whether a scene may be written to `path`: nothing is there; or a scene is, and `replace` (the
    /// user chose to replace it). Anything else there (a lesson, a config, a folder, a file that is
    /// not a scene this build reads) is never replaced: a mistyped path cost the file it named.
    pub fn may_replace(path: &Path, replace: bool) -> Result<(), String> {
        let meta = match std::fs::symlink_metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(format!("{}: cannot be looked at: {e}", path.display())),
            Ok(m) => m,
        };
        if !meta.is_file() {
            return Err(format!(
                "{} is there and is not a file: nothing written; give the scene a file name",
                path.display()
            ));
        }
        match Scene::read(path) {
            Ok(_) if replace => Ok(()),
            Ok(_) => Err(format!(
                "{} holds a scene already: Save scene again to replace it",
                path.display()
            )),
            Err(e) => Err(format!(
                "{} is there and is not a scene this build reads ({e}): it is not replaced; give \
                 the scene another name",
                path.display()
            )),
        }
    }

    /// Read and check a scene file.
    pub fn read(path: &Path) -> Result<Scene, String> {
        let name = path.display();
        let bytes = crate::store::files::read_bounded(path, MAX_SCENE_BYTES)
            .map_err(|e| format!("{name}: cannot be read: {e}"))?;
        let text = String::from_utf8(bytes).map_err(|e| format!("{name}: not UTF-8 text: {e}"))?;
        Scene::parse(&text).map_err(|e| format!("{name}: {e}"))
    }

    /// Parse a scene's text and check what can be checked without the window.
    pub fn parse(text: &str) -> Result<Scene, String> {
        let scene: Scene = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| {
                text.get(..s.start)
                    .map_or(1, |t| t.matches('\n').count() + 1)
            });
            match line {
                Some(l) => format!("line {l}: {}", e.message().trim()),
                None => e.message().trim().to_string(),
            }
        })?;
        if scene.grokscope_scene != VERSION {
            return Err(format!(
                "grokscope_scene: version {} is not the {VERSION} this build reads",
                scene.grokscope_scene
            ));
        }
        if Lab::named(&scene.lab).is_none() {
            let names: Vec<String> = Lab::ALL.iter().map(|l| l.title().to_lowercase()).collect();
            return Err(format!(
                "lab: no lab `{}` (there are {})",
                crate::config::truncate_echo(&scene.lab, 40),
                names.join(", ")
            ));
        }
        if !(scene.scale.is_finite() && SCALES.contains(&scene.scale)) {
            return Err(format!(
                "scale: {} is outside the allowed range [{}, {}]",
                scene.scale,
                SCALES.start(),
                SCALES.end()
            ));
        }
        if let Some(v) = scene.speed
            && !(v.is_finite() && crate::config::SPEED_LIMITS.contains(&v))
        {
            return Err(format!(
                "speed: {v} steps/s is outside the allowed range [{}, {}]",
                crate::config::SPEED_LIMITS.start(),
                crate::config::SPEED_LIMITS.end()
            ));
        }
        if let Some(w) = scene.smoothing
            && !(w.is_finite() && (0.0..=MAX_WEIGHT).contains(&w))
        {
            return Err(format!(
                "smoothing: {w} is outside the allowed range [0, {MAX_WEIGHT}]"
            ));
        }
        if let Some(l) = &scene.lesson
            && l.step == 0
        {
            return Err("lesson.step: steps count from 1".into());
        }
        Ok(scene)
    }

    /// The lab of the scene (checked by [`Scene::parse`]).
    pub fn lab(&self) -> Option<Lab> {
        Lab::named(&self.lab)
    }

    /// Check the scene against the window's labs; the lesson it names, loaded at its step.
    pub fn check(&self, labs: &[Box<dyn LabSlot>]) -> Result<Option<LessonPlayer>, String> {
        let lab = self.lab().ok_or("lab: unknown")?;
        let slot = labs
            .iter()
            .find(|l| l.lab() == lab)
            .ok_or_else(|| format!("the window has no {lab} lab"))?;
        for key in &self.hidden {
            if !slot.panels().iter().any(|p| p.key == key) {
                return Err(format!("hidden: the {lab} lab has no panel `{key}`"));
            }
        }
        for key in self.views.keys() {
            if !slot.view_options().contains(&key.as_str()) {
                let why = crate::config::lesson::no_view_option(lab, slot.view_options(), key);
                return Err(format!("views: {why}"));
            }
        }
        if self.smoothing.is_some() && slot.smoothing().is_none() {
            return Err(format!(
                "smoothing: the {lab} lab's plots have no smoothing"
            ));
        }
        if let Some(v) = &self.sweep {
            slot.check_sweep_view(v)?;
        }
        if let Some(why) = self.run.as_ref().and_then(SceneRun::cannot_come_back) {
            return Err(format!("run: {why}"));
        }
        slot.check_config(&self.config)
            .map_err(|e| format!("config: {e}"))?;
        if let Some(table) = self.run.as_ref().and_then(|r| r.config.as_ref()) {
            slot.check_config(table)
                .map_err(|e| format!("run.config: {e}"))?;
        }
        let player = match &self.lesson {
            None => None,
            Some(l) => {
                let lesson = load_lesson(&l.source).map_err(|e| format!("lesson: {e}"))?;
                if l.step > lesson.steps.len() {
                    return Err(format!(
                        "lesson.step: {} is past the lesson's {} steps",
                        l.step,
                        lesson.steps.len()
                    ));
                }
                let mut p = LessonPlayer::new(lesson, l.source.clone());
                p.show_step(l.step - 1);
                Some(p)
            }
        };
        Ok(player)
    }

    /// Bring the scene back on `labs` (checked first by [`Scene::check`]); the index of the lab to
    /// show and what happened.
    pub fn apply(
        &self,
        labs: &mut [Box<dyn LabSlot>],
        ctx: LabCtx,
    ) -> Result<(usize, String), String> {
        let lab = self.lab().ok_or("lab: unknown")?;
        let i = labs
            .iter()
            .position(|l| l.lab() == lab)
            .ok_or_else(|| format!("the window has no {lab} lab"))?;
        let slot = &mut labs[i];
        slot.teach(Teach::Config(self.config.clone()), ctx)?;
        for p in slot.panels() {
            slot.show_panel(p.key, !self.hidden.iter().any(|h| h == p.key));
        }
        for (key, on) in &self.views {
            slot.set_view_option(key, *on);
        }
        if let Some(w) = self.smoothing {
            slot.set_smoothing(w);
        }
        if let Some(v) = &self.sweep {
            slot.set_sweep_view(v);
        }
        let said = match &self.run {
            Some(run) => slot.teach(
                Teach::Restore {
                    dir: run.dir.clone(),
                    step: run.step,
                    cursor: self.cursor,
                    config: run.config.clone(),
                },
                ctx,
            )?,
            None => {
                if let Some(c) = self.cursor {
                    // a lab without a cursor has none saved
                    let _ = slot.teach(Teach::Cursor(CursorAt::Step(c)), ctx);
                }
                "scene opened (it had no run)".to_string()
            }
        };
        Ok((i, said))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scene() -> Scene {
        let mut config = toml::Table::new();
        config.insert("p".into(), toml::Value::Integer(97));
        Scene {
            grokscope_scene: VERSION,
            lab: "grokking".into(),
            presenter: true,
            scale: 1.75,
            fit_scale: false,
            presenter_config: false,
            hidden: vec!["runs".into()],
            views: BTreeMap::from([("log_steps".to_string(), true)]),
            smoothing: Some(0.6),
            sweep: None,
            cursor: Some(120),
            speed: Some(40.0),
            run: Some(SceneRun {
                step: 300,
                dir: Some(PathBuf::from("/tmp/run-1")),
                changed: vec!["changed wd → 0 from step 200".into()],
                config: Some(config.clone()),
            }),
            lesson: Some(SceneLesson {
                source: "bundled:clock-inside".into(),
                step: 3,
            }),
            config,
        }
    }

    /// Save scene never replaces what is not a scene, and replaces a scene only when asked to: a
    /// typed path that named a lesson file overwrote the lesson (a helper's teaching audit,
    /// 2026-12-07). Expected: each file byte for byte as it was after a refusal.
    #[test]
    fn a_scene_replaces_only_a_scene_and_only_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = scene();
        s.run.as_mut().unwrap().changed.clear();
        // nothing there: written
        let path = dir.path().join("scene.toml");
        s.save(&path, false).unwrap();
        let first = std::fs::read(&path).unwrap();
        // a scene there: refused until the user chooses to replace it
        let mut other = s.clone();
        other.cursor = Some(7);
        let e = other.save(&path, false).unwrap_err();
        assert!(e.contains("holds a scene already"), "{e}");
        assert_eq!(std::fs::read(&path).unwrap(), first);
        other.save(&path, true).unwrap();
        assert_eq!(Scene::read(&path).unwrap().cursor, Some(7));
        // a lesson, a file that is not TOML, a folder: never replaced, even when asked
        let lesson = dir.path().join("lesson.toml");
        std::fs::write(&lesson, crate::config::lesson::BUNDLED[0].1).unwrap();
        let junk = dir.path().join("notes.txt");
        std::fs::write(&junk, [0xff, 0xfe, 0x00]).unwrap();
        for (p, says) in [
            (&lesson, "is not a scene this build reads"),
            (&junk, "is not a scene this build reads"),
        ] {
            let before = std::fs::read(p).unwrap();
            let e = s.save(p, true).unwrap_err();
            assert!(e.contains(says), "{e}");
            assert_eq!(std::fs::read(p).unwrap(), before);
        }
        let e = s.save(dir.path(), true).unwrap_err();
        assert!(e.contains("is not a file"), "{e}");
    }

    #[test]
    fn round_trips() {
        let s = scene();
        let text = s.to_toml();
        // the plots' view (from `scene()`): its log axis and its smoothing
        assert!(
            text.contains("smoothing = 0.6") && text.contains("[views]\nlog_steps = true"),
            "{text}"
        );
        assert_eq!(Scene::parse(&text), Ok(s));
        // a scene saved before views and smoothing were kept reads without them (the window's
        // own then stay as they are)
        let older = text
            .replace("smoothing = 0.6\n", "")
            .replace("[views]\nlog_steps = true\n", "");
        let read = Scene::parse(&older).unwrap();
        assert!(read.views.is_empty() && read.smoothing.is_none(), "{older}");
        // and without the run's optional parts (older files have none)
        let mut s = scene();
        let run = s.run.as_mut().unwrap();
        run.changed.clear();
        run.config = None;
        let text = s.to_toml();
        assert!(
            !text.contains("changed") && !text.contains("[run.config]"),
            "{text}"
        );
        assert_eq!(Scene::parse(&text), Ok(s));
    }

    /// A scene whose scale followed the window says so, and opens following the new window's size;
    /// one saved before the scale could follow (no `fit_scale`) keeps the scale it names.
    #[test]
    fn a_fitted_scale_is_kept_as_fitted_and_older_scenes_keep_theirs() {
        let mut s = scene();
        s.fit_scale = true;
        let text = s.to_toml();
        assert!(text.contains("fit_scale = true"), "{text}");
        assert_eq!(Scene::parse(&text), Ok(s));
        let s = scene();
        let older = s.to_toml().replace("fit_scale = false\n", "");
        assert!(!older.contains("fit_scale"), "{older}");
        let read = Scene::parse(&older).unwrap();
        assert!(!read.fit_scale);
        assert_eq!(read.scale, 1.75);
    }

    /// The presenter's own choice of the config panel (its Show menu, without a lesson) is kept when
    /// on, and left out when off, so scenes saved before it (and builds before it) read the same.
    #[test]
    fn the_presenters_config_choice_is_kept_only_when_on() {
        let mut s = scene();
        assert!(!s.to_toml().contains("presenter_config"));
        s.presenter_config = true;
        let text = s.to_toml();
        assert!(text.contains("presenter_config = true"), "{text}");
        assert_eq!(Scene::parse(&text), Ok(s));
    }

    /// A run that changed mid-run comes back only from its folder: a scene of one without a folder
    /// is not saved (nothing is written), and one whose folder has gone is refused when opened
    /// (its retraining would be another run).
    #[test]
    fn a_run_changed_mid_run_comes_back_only_from_its_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let mut s = scene();
        let run = s.run.as_mut().unwrap();
        run.dir = Some(tmp.path().to_path_buf());
        assert_eq!(run.cannot_come_back(), None, "its folder is there");
        run.dir = Some(tmp.path().join("gone"));
        let why = run.cannot_come_back().unwrap();
        assert!(
            why.contains("gone") && why.contains("wd → 0 from step 200"),
            "{why}"
        );
        run.dir = None;
        let why = run.cannot_come_back().unwrap();
        assert!(why.contains("has no folder"), "{why}");
        let file = tmp.path().join("scene.toml");
        let e = s.save(&file, false).unwrap_err();
        assert!(e.contains("Runs panel"), "{e}");
        assert!(!file.exists(), "nothing is written");
        // unchanged, the config trains the run again: saved without a folder
        s.run.as_mut().unwrap().changed.clear();
        assert_eq!(s.run.as_ref().unwrap().cannot_come_back(), None);
        s.save(&file, false).unwrap();
        assert_eq!(Scene::read(&file), Ok(s));
    }

    #[test]
    fn refuses_what_it_cannot_show() {
        let text = scene().to_toml();
        let bad = [
            (
                text.replace("grokscope_scene = 1", "grokscope_scene = 7"),
                "version 7",
            ),
            (
                text.replace("lab = \"grokking\"", "lab = \"chemistry\""),
                "no lab",
            ),
            (text.replace("scale = 1.75", "scale = 40.0"), "scale"),
            (text.replace("speed = 40.0", "speed = 0.0"), "speed: 0"),
            (text.replace("speed = 40.0", "speed = nan"), "speed: NaN"),
            (
                text.replace("smoothing = 0.6", "smoothing = 1.5"),
                "smoothing: 1.5 is outside the allowed range [0, 0.99]",
            ),
            (
                text.replace("smoothing = 0.6", "smoothing = nan"),
                "smoothing: NaN",
            ),
            (
                text.replace("log_steps = true", "log_steps = 2"),
                "line 12: invalid type: integer `2`, expected a boolean",
            ),
            (text.replace("step = 3\n", "step = 0\n"), "count from 1"),
            (format!("extra = 1\n{text}"), "unknown field"),
            (
                "grokscope_scene = 1\nlab = \"grokking\"\n".to_string(),
                "config",
            ),
        ];
        for (t, want) in bad {
            let e = Scene::parse(&t).unwrap_err();
            assert!(e.contains(want), "{want}: {e}");
        }
        // a syntax error names its line
        let e = Scene::parse("grokscope_scene = 1\nlab = \n").unwrap_err();
        assert!(e.starts_with("line 2"), "{e}");
    }
}
