//! "When does grokking happen": each run of a phase-diagram cell classified by its events (spec section 4,
//! with the event definitions of section 1), and a cell summarised over its seeds.

use crate::config::GrokkingConfig;
use crate::config::phase::{PhaseCell, PhaseStudyConfig, PhaseTask};
use serde::{Deserialize, Serialize};
use std::fmt;

/// What a run did within its epoch cap.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Outcome {
    /// Train accuracy never reached 99 % and validation never generalised.
    NoLearning,
    /// Train reached 99 %, validation never did within the cap.
    Memorisation,
    /// Validation generalised after train memorised: a positive delay.
    Grokking,
    /// Validation generalised no later than train memorised: delay 0.
    Comprehension,
}

impl Outcome {
    pub const ALL: [Outcome; 4] = [
        Outcome::NoLearning,
        Outcome::Memorisation,
        Outcome::Grokking,
        Outcome::Comprehension,
    ];
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Outcome::NoLearning => "no learning",
            Outcome::Memorisation => "memorisation only",
            Outcome::Grokking => "grokking",
            Outcome::Comprehension => "comprehension",
        })
    }
}

/// A classified run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunClass {
    pub outcome: Outcome,
    /// Generalisation delay in epochs as section 1 defines it: max(0, t_val - t_train) for a run that
    /// generalised, cap - t_train for one that only memorised; `None` for no learning.
    pub delay: Option<u64>,
}

impl RunClass {
    /// The delay in words: a memorising run's is only a lower bound set by the cap ("≥ 278 (never
    /// generalised)"), as a Capacity task's is; empty for no learning.
    pub fn delay_text(&self) -> String {
        match (self.outcome, self.delay) {
            (_, None) => String::new(),
            (Outcome::Memorisation, Some(d)) => format!("≥ {d} (never generalised)"),
            (_, Some(d)) => d.to_string(),
        }
    }
}

/// Classify a run from the first epoch train accuracy reached 99 % (`t_train`), the first epoch
/// validation reached the generalisation threshold (`t_val`: pass `GrokDetector::t_val98` for the paper's
/// delay) and the epoch cap. Events after the cap count as never reached.
///
/// A run whose validation generalised while its running train accuracy (dropout on) never reached 99 %
/// is comprehension with delay 0, as `GrokDetector::delay` counts it: it plainly learned, and nothing
/// came before generalisation.
pub fn classify_run(t_train: Option<u64>, t_val: Option<u64>, cap: u64) -> RunClass {
    let within = |t: Option<u64>| t.filter(|&t| t <= cap);
    match (within(t_train), within(t_val)) {
        (None, None) => RunClass {
            outcome: Outcome::NoLearning,
            delay: None,
        },
        (Some(tt), None) => RunClass {
            outcome: Outcome::Memorisation,
            delay: Some(cap - tt),
        },
        (Some(tt), Some(tv)) if tv > tt => RunClass {
            outcome: Outcome::Grokking,
            delay: Some(tv - tt),
        },
        (Some(_) | None, Some(_)) => RunClass {
            outcome: Outcome::Comprehension,
            delay: Some(0),
        },
    }
}

/// A phase-diagram cell over its seeds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CellSummary {
    /// The majority outcome; `None` for a cell with no runs.
    pub outcome: Option<Outcome>,
    /// Runs of each outcome, in the order of [`Outcome::ALL`].
    pub counts: [usize; 4],
    /// Mean delay of the runs that generalised (grokking or comprehension); `None` when none did. The
    /// delay of a memorising run is only a lower bound set by the cap, so it is left out.
    pub mean_delay: Option<f64>,
}

/// Summarise a cell: the outcome most of its runs had and their mean delay.
///
/// Ties go to the outcome that learned less (in the order no learning < memorisation < grokking <
/// comprehension): a cell claims no more than half of its seeds show. With two seeds, one grokking and
/// one memorising, the cell reads memorisation.
pub fn summarise_cell(runs: &[RunClass]) -> CellSummary {
    let mut counts = [0usize; 4];
    for r in runs {
        counts[r.outcome as usize] += 1;
    }
    // max_by_key keeps the last of equal maxima, so scan from the most learned down
    let outcome = Outcome::ALL
        .iter()
        .rev()
        .filter(|o| counts[**o as usize] > 0)
        .max_by_key(|o| counts[**o as usize])
        .copied();
    let generalised: Vec<u64> = runs
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Grokking | Outcome::Comprehension))
        .filter_map(|r| r.delay)
        .collect();
    let mean_delay = (!generalised.is_empty())
        .then(|| generalised.iter().sum::<u64>() as f64 / generalised.len() as f64);
    CellSummary {
        outcome,
        counts,
        mean_delay,
    }
}

/// Format version of [`PhaseRun`]; a stored result of another version is redone.
pub const PHASE_RESULT_VERSION: u32 = 1;

/// One finished run of a phase study: what it was (the task, its axis values and its whole config, so
/// it can be reproduced), its events and its class.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PhaseRun {
    pub version: u32,
    pub task: PhaseTask,
    pub weight_decay: f64,
    pub train_fraction: f64,
    /// The model width of the run (the MLP's hidden width, the transformer's d_model).
    pub width: usize,
    /// The run's config: `grokscope run` with it reproduces the run bit for bit.
    pub config: GrokkingConfig,
    pub params: u64,
    pub epochs: u64,
    pub steps: u64,
    /// First epoch with running train accuracy >= 99 %.
    pub t_train: Option<u64>,
    /// First epoch with validation accuracy >= 98 % (the delay's threshold).
    pub t_val98: Option<u64>,
    /// First epoch with validation accuracy >= 99 %.
    pub t_val: Option<u64>,
    pub final_train_acc: Option<f64>,
    pub final_val_acc: Option<f64>,
    /// [`classify_run`] of `t_train`, `t_val98` and the epoch cap.
    pub class: RunClass,
    pub wall_secs: f64,
    /// The run's folder inside the study folder (`runs/task-...`), when runs are kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_dir: Option<String>,
}

/// A cell of a phase study with its runs' classes and their summary.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PhaseCellResult {
    pub cell: PhaseCell,
    pub weight_decay: f64,
    pub train_fraction: f64,
    pub width: usize,
    /// `(seed, outcome, delay)` of each finished run, in seed order.
    pub runs: Vec<(u64, Outcome, Option<u64>)>,
    pub summary: CellSummary,
}

/// The cells of `cfg` in task order (widths, train fractions, weight decays) with the finished runs
/// among `runs` (others' runs and runs of cells outside the axes are ignored); a cell with no
/// finished run has an empty summary.
pub fn phase_cells(cfg: &PhaseStudyConfig, runs: &[PhaseRun]) -> Vec<PhaseCellResult> {
    let mut cells: Vec<PhaseCell> = crate::config::phase::phase_tasks(cfg)
        .iter()
        .map(PhaseTask::cell)
        .collect();
    cells.dedup();
    cells
        .into_iter()
        .map(|cell| {
            let mut mine: Vec<&PhaseRun> = runs.iter().filter(|r| r.task.cell() == cell).collect();
            mine.sort_by_key(|r| r.task.seed);
            mine.dedup_by_key(|r| r.task.seed);
            let classes: Vec<RunClass> = mine.iter().map(|r| r.class).collect();
            let t = PhaseTask {
                wd_index: cell.wd_index,
                tf_index: cell.tf_index,
                width_index: cell.width_index,
                seed: 0,
            };
            let run = cfg.task_config(&t);
            PhaseCellResult {
                cell,
                weight_decay: run.optim.weight_decay,
                train_fraction: run.train_fraction,
                width: match &run.model {
                    crate::config::ModelConfig::Mlp(m) => m.hidden,
                    crate::config::ModelConfig::Transformer(t) => t.d_model,
                },
                runs: mine
                    .iter()
                    .map(|r| (r.task.seed, r.class.outcome, r.class.delay))
                    .collect(),
                summary: summarise_cell(&classes),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::events::GrokDetector;

    /// Classify a synthetic run through the live detector: accuracies per epoch, 1-based.
    fn run(train: &[f64], val: &[f64]) -> RunClass {
        let mut d = GrokDetector::default();
        for (i, (&t, &v)) in train.iter().zip(val).enumerate() {
            d.observe_train(i as u64 + 1, t);
            d.observe_val(i as u64 + 1, v);
        }
        classify_run(d.t_train, d.t_val98, train.len() as u64)
    }

    #[test]
    fn synthetic_runs() {
        // by hand from the curves: train 99 % at epoch 2, validation 98 % at epoch 5 -> grokking, delay 3
        let grok = run(&[0.5, 0.99, 1.0, 1.0, 1.0], &[0.0, 0.1, 0.2, 0.5, 0.98]);
        assert_eq!(
            grok,
            RunClass {
                outcome: Outcome::Grokking,
                delay: Some(3)
            }
        );
        // both at epoch 3 -> comprehension, delay 0
        let together = run(&[0.5, 0.9, 0.995], &[0.5, 0.9, 0.985]);
        assert_eq!(
            together,
            RunClass {
                outcome: Outcome::Comprehension,
                delay: Some(0)
            }
        );
        // validation first (epoch 2), train at 3: delay max(0, 2 - 3) = 0
        assert_eq!(
            run(&[0.5, 0.9, 0.995], &[0.5, 0.99, 1.0]).outcome,
            Outcome::Comprehension
        );
        // train 99 % at epoch 1, validation never, cap 4 -> memorisation, delay 4 - 1 = 3
        let mem = run(&[0.99, 1.0, 1.0, 1.0], &[0.1; 4]);
        assert_eq!(
            mem,
            RunClass {
                outcome: Outcome::Memorisation,
                delay: Some(3)
            }
        );
        assert_eq!(
            run(&[0.2, 0.3], &[0.1, 0.1]),
            RunClass {
                outcome: Outcome::NoLearning,
                delay: None
            }
        );
        // validation generalises, running train accuracy stays at 97 %: comprehension (detector's delay 0)
        let dropout = run(&[0.9, 0.97, 0.97], &[0.5, 0.985, 0.99]);
        assert_eq!(
            dropout,
            RunClass {
                outcome: Outcome::Comprehension,
                delay: Some(0)
            }
        );
        // in words: the memorising run's delay (cap - t_train) is a lower bound, the others are not
        assert_eq!(mem.delay_text(), "≥ 3 (never generalised)");
        assert_eq!(grok.delay_text(), "3");
        assert_eq!(together.delay_text(), "0");
        assert_eq!(run(&[0.2, 0.3], &[0.1, 0.1]).delay_text(), "");
    }

    #[test]
    fn events_after_the_cap_do_not_count() {
        assert_eq!(
            classify_run(Some(5), Some(50), 20).outcome,
            Outcome::Memorisation
        );
        assert_eq!(
            classify_run(Some(30), Some(50), 20).outcome,
            Outcome::NoLearning
        );
        assert_eq!(
            classify_run(Some(5), Some(20), 20).delay,
            Some(15),
            "the cap itself is inside"
        );
    }

    #[test]
    fn cell_majority_mean_delay_and_ties() {
        let c = |outcome, delay| RunClass { outcome, delay };
        // three seeds: two grokking (delays 10, 30), one comprehension -> grokking, mean over the three
        // generalising runs (10 + 30 + 0) / 3
        let s = summarise_cell(&[
            c(Outcome::Grokking, Some(10)),
            c(Outcome::Grokking, Some(30)),
            c(Outcome::Comprehension, Some(0)),
        ]);
        assert_eq!(s.outcome, Some(Outcome::Grokking));
        assert_eq!(s.counts, [0, 0, 2, 1]);
        assert!((s.mean_delay.unwrap() - 40.0 / 3.0).abs() < 1e-12);
        // a tie goes to the outcome that learned less; memorising delays are left out of the mean
        let tie = summarise_cell(&[
            c(Outcome::Grokking, Some(8)),
            c(Outcome::Memorisation, Some(100)),
        ]);
        assert_eq!(tie.outcome, Some(Outcome::Memorisation));
        assert_eq!(tie.mean_delay, Some(8.0));
        let tie2 = summarise_cell(&[
            c(Outcome::Comprehension, Some(0)),
            c(Outcome::Grokking, Some(4)),
        ]);
        assert_eq!(tie2.outcome, Some(Outcome::Grokking));
        let none = summarise_cell(&[c(Outcome::NoLearning, None)]);
        assert_eq!(
            (none.outcome, none.mean_delay),
            (Some(Outcome::NoLearning), None)
        );
        assert_eq!(summarise_cell(&[]).outcome, None);
    }

    #[test]
    fn cells_of_a_study_from_constructed_runs() {
        use crate::config::phase::{phase_preset, phase_tasks};
        let study = phase_preset("tiny").unwrap().config;
        let mut study = study;
        study.seeds = vec![0, 1];
        let tasks = phase_tasks(&study);
        let run = |k: usize, outcome, delay| PhaseRun {
            version: PHASE_RESULT_VERSION,
            task: tasks[k],
            weight_decay: 0.0,
            train_fraction: 0.0,
            width: 0,
            config: study.task_config(&tasks[k]),
            params: 0,
            epochs: 0,
            steps: 0,
            t_train: None,
            t_val98: None,
            t_val: None,
            final_train_acc: None,
            final_val_acc: None,
            class: RunClass { outcome, delay },
            wall_secs: 0.0,
            run_dir: None,
        };
        // cell (wd 0, tf 0): seeds 0 and 1 grok with delays 10 and 30 -> grokking, mean 20;
        // cell (wd 1, tf 0): one seed memorises -> memorisation, no mean delay; the rest: no runs
        let runs = vec![
            run(0, Outcome::Grokking, Some(10)),
            run(1, Outcome::Grokking, Some(30)),
            run(2, Outcome::Memorisation, Some(200)),
        ];
        let cells = phase_cells(&study, &runs);
        assert_eq!(cells.len(), 4, "2 x 2 cells");
        assert_eq!(cells[0].summary.outcome, Some(Outcome::Grokking));
        assert_eq!(cells[0].summary.mean_delay, Some(20.0));
        assert_eq!(
            cells[0].runs,
            vec![
                (0, Outcome::Grokking, Some(10)),
                (1, Outcome::Grokking, Some(30))
            ]
        );
        // the axis values come from the config, not the records
        assert_eq!((cells[1].weight_decay, cells[1].train_fraction), (3.0, 0.3));
        assert_eq!(cells[1].summary.outcome, Some(Outcome::Memorisation));
        assert_eq!(cells[1].summary.mean_delay, None);
        assert_eq!(cells[3].summary.outcome, None);
        assert_eq!(cells[3].width, 128, "the fast MLP's hidden width");
    }
}
