//! The phase diagram panel (kittest): events of a phase study fed to its state fill the cells, each
//! button named by its class and mean delay; clicking a cell hands back its runs.

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use grokscope::analysis::phase::{Outcome, PHASE_RESULT_VERSION, PhaseRun, RunClass};
use grokscope::app::labs::grokking::phase_view::{PhaseClick, PhaseViewState, phase_view};
use grokscope::config::RunConfig;
use grokscope::config::phase::{phase_preset, phase_tasks};
use grokscope::protocol::{Event, GrokkingEvent, LabEvent};

struct Panel {
    state: PhaseViewState,
    clicked: Option<PhaseClick>,
}

pub(crate) fn result(k: usize, outcome: Outcome, delay: Option<u64>) -> PhaseRun {
    let cfg = phase_preset("tiny").unwrap().config;
    let task = phase_tasks(&cfg)[k];
    let config = cfg.task_config(&task);
    PhaseRun {
        version: PHASE_RESULT_VERSION,
        task,
        weight_decay: config.optim.weight_decay,
        train_fraction: config.train_fraction,
        width: 128,
        config,
        params: 1,
        epochs: 100,
        steps: 100,
        t_train: None,
        t_val98: None,
        t_val: None,
        final_train_acc: None,
        final_val_acc: None,
        class: RunClass { outcome, delay },
        wall_secs: 0.1,
        run_dir: Some(format!("runs/{}", task.name())),
    }
}

fn task_event(run: u64, r: PhaseRun, done: usize) -> Event {
    Event::Lab {
        run,
        payload: LabEvent::Grokking(GrokkingEvent::PhaseTask {
            result: Box::new(r),
            done,
            total: 4,
        }),
    }
}

#[test]
fn cells_fill_in_from_events_and_a_click_lists_the_runs() {
    let cfg = phase_preset("tiny").unwrap().config;
    let mut state = PhaseViewState::default();
    // the study starts: four pending cells (2 weight decays x 2 train fractions, one seed)
    assert!(state.observe(&Event::Started {
        run: 7,
        config: Box::new(RunConfig::PhaseStudy(cfg.clone())),
        param_count: 0,
        steps_per_epoch: 1,
        device: Some(grokscope::config::device::Choice::cpu_only()),
    }));
    let mut h = Harness::new_ui_state(
        |ui, p: &mut Panel| {
            if let Some(c) = phase_view(ui, &p.state, 0) {
                p.clicked = Some(c);
            }
        },
        Panel {
            state,
            clicked: None,
        },
    );
    h.run();
    assert_eq!(h.query_all_by_label_contains("pending (0/1)").count(), 4);
    // task 0 is (wd 0.1, train 0.3), task 3 (wd 3, train 0.7): the tiny preset's order, seed fastest
    for (k, outcome, delay) in [
        (0, Outcome::Grokking, Some(120)),
        (3, Outcome::Memorisation, Some(250)),
    ] {
        let ev = task_event(7, result(k, outcome, delay), k + 1);
        assert!(h.state_mut().state.observe(&ev));
    }
    // another run's events are not this study's
    assert!(
        !h.state_mut()
            .state
            .observe(&task_event(8, result(1, Outcome::NoLearning, None), 1))
    );
    h.run();
    // labels by hand from the events: the grokking cell shows its delay; a memorising run's delay
    // is only a bound, so that cell has none
    assert!(
        h.query_by_label("wd 0.1, train 0.3: grokking, delay 120 (1/1)")
            .is_some()
    );
    assert!(
        h.query_by_label("wd 3, train 0.7: memorisation only (1/1)")
            .is_some()
    );
    assert_eq!(h.query_all_by_label_contains("pending (0/1)").count(), 2);
    assert!(h.query_by_label_contains("2 of 4 runs finished").is_some());
    h.get_by_label("wd 0.1, train 0.3: grokking, delay 120 (1/1)")
        .click();
    h.run();
    let click = h.state().clicked.clone().expect("a click");
    assert_eq!(click.runs.len(), 1);
    assert_eq!(
        click.runs[0].run_dir.as_deref(),
        Some("runs/task-wd0-tf0-s0")
    );
    assert_eq!(click.runs[0].config.optim.weight_decay, 0.1);

    // the key: each class is one entry, its swatch and name together (a swatch once ended one row
    // and its name began the next), in a 230-point panel
    let mut h = Harness::builder()
        .with_size(eframe::egui::vec2(230.0, 600.0))
        .build_ui_state(
            |ui, p: &mut Panel| {
                phase_view(ui, &p.state, 0);
            },
            Panel {
                state: h.state().state.clone(),
                clicked: None,
            },
        );
    h.run();
    for o in Outcome::ALL {
        let name = o.to_string();
        let entry = h.get_by_label(&name).rect();
        // the swatch (two type heights) and a gap before the name: wider than the name alone
        let name_width = 7.0 * name.chars().count() as f32;
        assert!(entry.width() > name_width + 20.0, "{name}: {entry:?}");
        assert!(entry.height() < 24.0, "{name}: {entry:?}");
        assert!(entry.right() <= 230.0, "{name}: {entry:?}");
    }
}

/// A worker that answers a phase study's start with its first run's result and its end.
#[derive(Clone, Default)]
struct PhaseWorker {
    events: std::sync::Arc<std::sync::Mutex<std::collections::VecDeque<Event>>>,
}

impl grokscope::app::Backend for PhaseWorker {
    fn send(&self, cmd: grokscope::protocol::Command) {
        if let grokscope::protocol::Command::Start(config) = cmd {
            let mut ev = self.events.lock().unwrap();
            ev.push_back(Event::Started {
                run: 3,
                config: Box::new((*config).into()),
                param_count: 0,
                steps_per_epoch: 1,
                device: Some(grokscope::config::device::Choice::cpu_only()),
            });
            ev.push_back(task_event(3, result(0, Outcome::Grokking, Some(120)), 1));
            ev.push_back(Event::Finished {
                run: 3,
                outcome: grokscope::protocol::Outcome::Completed,
                summary: None,
            });
        }
    }

    fn try_recv(&self) -> Option<Event> {
        self.events.lock().unwrap().pop_front()
    }
}

/// The window's Export figure offers the phase diagram of the study shown, drawn as `grokscope export
/// DIR --figure phase` draws it (the same function, from the same cells).
#[test]
fn the_window_exports_the_phase_diagram_shown() {
    use crate::ui_support::{Labs, harness_with, step_until};
    use grokscope::app::labs::{LabCtx, LabSlot, Teach};
    let worker = PhaseWorker::default();
    let mut h = harness_with(move |cc| {
        grokscope::app::GrokscopeApp::with_backend(
            cc,
            std::sync::Arc::new(grokscope::app::FixedPathDialog(None)),
            Box::new(worker),
        )
    });
    h.step();
    let lab = h.state_mut().grokking_mut();
    assert!(lab.figure_set().figures.iter().all(|f| f.name != "phase"));
    lab.teach(Teach::Preset("phase-tiny".into()), LabCtx::default())
        .unwrap();
    lab.teach(Teach::Start, LabCtx::default()).unwrap();
    assert!(step_until(
        &mut h,
        std::time::Duration::from_secs(10),
        |h| { h.state().phase() == grokscope::app::Phase::Finished }
    ));
    // the status line counts the study's runs (the script finished 1 of 4, then the study ended)
    let status = h.state().status().text.clone();
    assert!(
        status.starts_with("phase study completed: 1 of 4 runs in "),
        "{status}"
    );
    // and the top bar counts them, not steps
    h.step();
    assert!(h.query_by_label("1 of 4 runs").is_some());
    let set = h.state().grokking().figure_set();
    let phase = set.figures.iter().find(|f| f.name == "phase");
    let cfg = phase_preset("tiny").unwrap().config;
    let want = grokscope::export::labs::phase_figures(
        &cfg,
        &grokscope::analysis::phase::phase_cells(&cfg, &[result(0, Outcome::Grokking, Some(120))]),
    );
    assert_eq!(
        phase,
        want.first(),
        "the figure of the one finished run's cells"
    );
}

/// A worker that answers a phase study's start with `Started` only (the study then runs on) and
/// records the commands it gets.
#[derive(Clone, Default)]
struct HeldPhaseWorker {
    sent: std::sync::Arc<std::sync::Mutex<Vec<grokscope::protocol::Command>>>,
    events: std::sync::Arc<std::sync::Mutex<std::collections::VecDeque<Event>>>,
}

impl grokscope::app::Backend for HeldPhaseWorker {
    fn send(&self, cmd: grokscope::protocol::Command) {
        if let grokscope::protocol::Command::Start(config) = &cmd {
            self.events.lock().unwrap().push_back(Event::Started {
                run: 1,
                config: Box::new((**config).clone().into()),
                param_count: 0,
                steps_per_epoch: 1,
                device: Some(grokscope::config::device::Choice::cpu_only()),
            });
        }
        self.sent.lock().unwrap().push(cmd);
    }

    fn try_recv(&self) -> Option<Event> {
        self.events.lock().unwrap().pop_front()
    }
}

/// A lesson's `pause` while a phase study runs says that a study cannot pause, and sends no Pause:
/// the study's threads run whole runs, and a pause only held back its results in the window. `lesson
/// check` refuses a lesson that pauses a study it started, so the study here is the teacher's: started
/// from the panel while the lesson's run goes on.
#[test]
fn a_lesson_pause_during_a_phase_study_is_said_and_not_sent() {
    use crate::ui_support::{Labs, harness_with, step_until};
    let worker = HeldPhaseWorker::default();
    let sent = worker.sent.clone();
    let mut h = harness_with(move |cc| {
        grokscope::app::GrokscopeApp::with_backend(
            cc,
            std::sync::Arc::new(grokscope::app::FixedPathDialog(None)),
            Box::new(worker),
        )
    });
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pause.toml");
    std::fs::write(
        &file,
        r#"title = "Pausing a study"
summary = "A pause during a phase study."

[[step]]
title = "Start"
text = "The study starts."
actions = [
    { do = "choose", lab = "grokking", preset = "fast-mlp" },
    { do = "start" },
]

[[step]]
title = "Pause"
text = "A pause."
actions = [{ do = "pause" }]
"#,
    )
    .unwrap();
    h.state_mut()
        .play_lesson(file.to_str().unwrap())
        .expect("the lesson plays");
    assert!(step_until(&mut h, std::time::Duration::from_secs(5), |h| h
        .state()
        .phase()
        == grokscope::app::Phase::Running));
    // the teacher starts a phase study from the panel
    {
        use grokscope::app::labs::{LabCtx, LabSlot, Teach};
        let lab = h.state_mut().grokking_mut();
        lab.teach(Teach::Preset("phase-tiny".into()), LabCtx::default())
            .unwrap();
        lab.teach(Teach::Start, LabCtx::default()).unwrap();
    }
    assert!(step_until(&mut h, std::time::Duration::from_secs(5), |h| {
        use grokscope::app::labs::LabSlot;
        h.state().phase() == grokscope::app::Phase::Running
            && h.state().grokking().controls() == grokscope::app::labs::Controls::Tasks
    }));
    h.state_mut()
        .lesson_command(grokscope::app::teach::presenter::LessonCmd::Next);
    h.run_steps(2);
    let (is_error, note) = h.state().lesson().unwrap().note.clone().expect("a note");
    assert!(is_error && note.contains("cannot pause"), "{note}");
    assert_eq!(h.state().phase(), grokscope::app::Phase::Running);
    assert!(
        !sent
            .lock()
            .unwrap()
            .iter()
            .any(|c| matches!(c, grokscope::protocol::Command::Pause)),
        "no pause was sent"
    );
}

/// Before any study has run, the phase view draws the chosen study's map empty: its weight decays
/// and train fractions as axes and every cell pending, so a room can predict on it (the lesson
/// "When does grokking happen" once opened on a view two-thirds blank: a helper's audit). Expected:
/// the tiny study's 2 x 2 cells, from its preset, and a lesson's chosen study (the default one, 6 x 6)
/// over the panel's preset.
#[test]
fn before_a_study_the_chosen_maps_axes_and_cells_are_drawn() {
    use crate::ui_support::{Labs, harness_with};
    use grokscope::app::labs::{LabCtx, LabSlot, Teach};
    let mut h = harness_with(|cc| {
        grokscope::app::GrokscopeApp::with_backend(
            cc,
            std::sync::Arc::new(grokscope::app::FixedPathDialog(None)),
            Box::new(grokscope::app::Unattached::default()),
        )
    });
    h.state_mut().grokking_mut().show_panel("phase", true);
    h.run_steps(3);
    assert_eq!(h.query_all_by_label_contains("pending (0/1)").count(), 4);
    assert!(h.query_by_label_contains("0 of 4 runs finished").is_some());
    h.state_mut()
        .grokking_mut()
        .teach(Teach::Preset("phase-default".into()), LabCtx::default())
        .unwrap();
    h.run_steps(3);
    let cfg = phase_preset("phase-default").unwrap().config;
    let cells = cfg.weight_decays.len() * cfg.train_fractions.len();
    assert_eq!(cells, 36, "the default study is 6 x 6");
    assert_eq!(
        h.query_all_by_label_contains(&format!("pending (0/{})", cfg.seeds.len()))
            .count(),
        cells
    );
}

/// Choosing the 6 x 6 study after the tiny one leaves the side panel as wide as it was: the grid kept
/// its two wide columns' widths for the first of six, and the panel grew over the plots for good
/// (at 1280 x 800 the export buttons then lay over the plot options: a helper's audit). Expected: the
/// section's title where it was, to the point.
#[test]
fn a_larger_study_chosen_does_not_widen_the_side_panel() {
    use crate::ui_support::{Labs, harness_with};
    use grokscope::app::labs::{LabCtx, LabSlot, Teach};
    let mut h = harness_with(|cc| {
        grokscope::app::GrokscopeApp::with_backend(
            cc,
            std::sync::Arc::new(grokscope::app::FixedPathDialog(None)),
            Box::new(grokscope::app::Unattached::default()),
        )
    });
    h.set_size(eframe::egui::vec2(1280.0, 800.0));
    h.state_mut().grokking_mut().show_panel("phase", true);
    h.run_steps(4);
    let left = |h: &Harness<'_, grokscope::app::GrokscopeApp>| {
        h.get_by_label("When does grokking happen?").rect().left()
    };
    let before = left(&h);
    h.state_mut()
        .grokking_mut()
        .teach(Teach::Preset("phase-default".into()), LabCtx::default())
        .unwrap();
    h.run_steps(4);
    assert!(
        (left(&h) - before).abs() < 1.0,
        "the panel moved from {before} to {}",
        left(&h)
    );
}

/// A study opened from its folder has all it will have: the tasks of a study training meanwhile are
/// not added to its map (they were, to a state with no run: it took any run's tasks), and a study
/// started then replaces it.
#[test]
fn an_opened_study_takes_no_tasks_of_another() {
    let cfg = phase_preset("tiny").unwrap().config;
    let runs = vec![result(0, Outcome::Grokking, Some(120))];
    let mut state =
        PhaseViewState::opened(std::path::PathBuf::from("study"), cfg.clone(), runs.clone());
    assert_eq!(state.progress, (1, 4));
    assert!(!state.observe(&task_event(3, result(1, Outcome::Memorisation, None), 1)));
    assert_eq!(state.runs, runs);
    assert!(state.observe(&Event::Started {
        run: 4,
        config: Box::new(RunConfig::PhaseStudy(cfg)),
        param_count: 0,
        steps_per_epoch: 1,
        device: None,
    }));
    assert!(state.folder.is_none() && state.runs.is_empty());
}
