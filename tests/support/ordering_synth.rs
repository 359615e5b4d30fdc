//! Synthetic Ordering-lab events for UI tests and the demo (not the engine): a random complete layer
//! whose backward weights (against a hidden order) shrink while dynamic top-k prunes it, with D and
//! the best order found by dynamic programming over subsets; and study rows shaped like the spec's
//! sine results (D rising with sparsity from about 0.67 to 0.85; triu-damp near 1).
#![allow(dead_code)]

use grokscope::app::Backend;
use grokscope::config::ordering::{OrderingConfig, OrderingStudyConfig, Scheme, StudyKind};
use grokscope::config::{RunConfig, ValidRunConfig};
use grokscope::protocol::{
    Command, Event, LabEvent, LayerSnapshot, Metric, MetricRow, OrderMethod, OrderingEvent,
    Outcome, RunId, StudyRow,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Inputs and outputs of both tasks.
pub const INPUTS: usize = 2;
pub const OUTPUTS: usize = 1;

/// The minimum over orderings of the weight whose receiver comes after its sender, by dynamic
/// programming over subsets (placing one neuron after the set S costs its weights from S), with an
/// ordering that attains it (receivers first). `a` is |W|'s n x n block, row-major.
pub fn best_order(a: &[f64], n: usize) -> (f64, Vec<usize>) {
    let full = (1usize << n) - 1;
    let mut cost = vec![f64::INFINITY; 1 << n];
    let mut last = vec![usize::MAX; 1 << n];
    cost[0] = 0.0;
    for set in 0..full {
        if !cost[set].is_finite() {
            continue;
        }
        for j in (0..n).filter(|j| set & (1 << j) == 0) {
            let add: f64 = (0..n)
                .filter(|i| set & (1 << i) != 0)
                .map(|i| a[j * n + i])
                .sum();
            let next = set | (1 << j);
            if cost[set] + add < cost[next] {
                cost[next] = cost[set] + add;
                last[next] = j;
            }
        }
    }
    let mut order = Vec::with_capacity(n);
    let mut set = full;
    while set != 0 {
        let j = last[set];
        order.push(j);
        set &= !(1 << j);
    }
    order.reverse();
    (cost[full], order)
}

/// Largest layer ordered exactly here; beyond, `fallback` is used as the order (marked heuristic).
pub const EXACT_UP_TO: usize = 12;

/// D of a layer (`weights` n x (n + inputs)) and its best order (exact up to [`EXACT_UP_TO`]
/// neurons, else `fallback`'s D).
pub fn orderedness(
    weights: &[f32],
    n: usize,
    inputs: usize,
    fallback: &[usize],
) -> (f64, Vec<usize>, OrderMethod) {
    let cols = n + inputs;
    let a: Vec<f64> = (0..n * n)
        .map(|e| f64::from(weights[(e / n) * cols + e % n].abs()))
        .collect();
    let total: f64 = a.iter().sum();
    let (lower, order, method) = if n <= EXACT_UP_TO {
        let (lower, order) = best_order(&a, n);
        (lower, order, OrderMethod::Exact)
    } else {
        let mut pos = vec![0; n];
        for (p, &i) in fallback.iter().enumerate() {
            pos[i] = p;
        }
        let lower = (0..n * n)
            .filter(|e| pos[e / n] > pos[e % n])
            .map(|e| a[e])
            .sum();
        (lower, fallback.to_vec(), OrderMethod::Heuristic)
    };
    let d = if total > 0.0 {
        1.0 - lower / total
    } else {
        1.0
    };
    (d, order, method)
}

/// The events of one synthetic run of `steps` steps, or as many as `cfg` asks for (a snapshot
/// every `snapshot_every`).
pub fn run_events(
    run: RunId,
    cfg: &OrderingConfig,
    steps: Option<u64>,
    snapshot_every: u64,
) -> Vec<Event> {
    let spe = cfg.steps_per_epoch();
    let steps = steps.unwrap_or(cfg.epochs * spe).max(1);
    let n = cfg.hidden + OUTPUTS;
    let cols = n + INPUTS;
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let mut w: Vec<f32> = (0..n * cols)
        .map(|_| StandardNormal.sample(&mut rng))
        .collect();
    // a hidden order the weights drift towards: neuron i at position rank[i] (receivers first)
    let mut rank: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        rank.swap(i, rng.random_range(0..=i));
    }
    let mut events = vec![Event::Started {
        run,
        config: Box::new(RunConfig::Ordering(cfg.clone())),
        param_count: (n * cols + n) as u64,
        steps_per_epoch: spe,
        device: Some(grokscope::config::device::Choice::cpu_only()),
    }];
    let keep_final = 1.0 - cfg.pruning.sparsity();
    let mut rows = Vec::new();
    for step in 1..=steps {
        let x = step as f64 / steps as f64;
        // backward weights shrink, forward ones wander
        for r in 0..n {
            for c in 0..n {
                if rank[r] > rank[c] {
                    w[r * cols + c] *= 0.996;
                }
            }
        }
        for v in w.iter_mut() {
            if *v != 0.0 {
                *v += 0.01 * rng.random_range(-1.0f32..1.0);
            }
        }
        // dynamic top-k: keep the largest |w|
        let keep = 1.0 - (1.0 - keep_final) * (std::f64::consts::FRAC_PI_2 * x).sin().powi(4);
        let kept = (keep * w.len() as f64).floor() as usize;
        let mut by_size: Vec<usize> = (0..w.len()).collect();
        by_size.sort_by(|&a, &b| w[b].abs().total_cmp(&w[a].abs()));
        let mut pruned = vec![false; w.len()];
        for &e in &by_size[kept..] {
            w[e] = 0.0;
            pruned[e] = true;
        }
        let by_rank = {
            let mut o: Vec<usize> = (0..n).collect();
            o.sort_by_key(|&i| rank[i]);
            o
        };
        let (d, order, method) = orderedness(&w, n, INPUTS, &by_rank);
        let sparsity = pruned.iter().filter(|p| **p).count() as f64 / w.len() as f64;
        let mse = 0.25 * (-(step as f64) / 40.0).exp() + 0.004 * (1.0 + rng.random::<f64>());
        let epoch = step.div_ceil(spe);
        rows.push(MetricRow {
            step,
            epoch,
            values: vec![
                (Metric::Mse, mse),
                (Metric::Orderedness, d),
                (Metric::Sparsity, sparsity),
            ],
        });
        if step % snapshot_every == 0 || step == steps {
            events.push(Event::Metrics {
                run,
                rows: std::mem::take(&mut rows),
            });
            events.push(Event::Lab {
                run,
                payload: LabEvent::Ordering(OrderingEvent::Snapshot(Box::new(LayerSnapshot {
                    step,
                    epoch,
                    inputs: INPUTS,
                    hidden: cfg.hidden,
                    outputs: OUTPUTS,
                    weights: w.clone(),
                    pruned,
                    order,
                    d,
                    method,
                    sparsity,
                }))),
            });
            events.push(Event::Progress { run, step, epoch });
        }
    }
    events.push(Event::Finished {
        run,
        outcome: Outcome::Completed,
        summary: None,
    });
    events
}

/// The events of a synthetic study: every setting's runs, in the order a worker might finish them.
pub fn study_events(run: RunId, cfg: &OrderingStudyConfig) -> Vec<Event> {
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.base.seed);
    let mut settings: Vec<(Scheme, f64, usize, usize)> = Vec::new();
    match cfg.kind {
        StudyKind::Sparsity => {
            settings.push((Scheme::None, 0.0, cfg.base.hidden, cfg.base.its));
            for &scheme in &cfg.schemes {
                for &s in &cfg.sparsities {
                    settings.push((scheme, s, cfg.base.hidden, cfg.base.its));
                }
            }
        }
        StudyKind::Grid => {
            for &h in &cfg.hidden_grid {
                for &its in &cfg.its_grid {
                    settings.push((Scheme::None, 0.0, h, its));
                }
            }
        }
    }
    let total = settings.len() * cfg.runs;
    let mut events = vec![Event::Started {
        run,
        config: Box::new(RunConfig::OrderingStudy(cfg.clone())),
        param_count: 0,
        steps_per_epoch: 1,
        device: Some(grokscope::config::device::Choice::cpu_only()),
    }];
    let mut done = 0;
    for &(scheme, sparsity, hidden, its) in &settings {
        for seed in 0..cfg.runs as u64 {
            let noise = 0.04 * (rng.random::<f64>() - 0.5);
            let d = match scheme {
                Scheme::None if cfg.kind == StudyKind::Grid => {
                    // small layers are easy to order; more iterations help a little
                    1.0 - 0.35 * (hidden as f64 / 9.0).sqrt() + 0.01 * its as f64
                }
                Scheme::None => 0.67,
                Scheme::Random | Scheme::TopK | Scheme::DynamicTopK => 0.67 + 0.2 * sparsity,
                Scheme::TriuDamp | Scheme::DynamicTriuDamp => 0.97 + 0.03 * sparsity,
            };
            done += 1;
            events.push(Event::Lab {
                run,
                payload: LabEvent::Ordering(OrderingEvent::StudyPoint {
                    row: Box::new(StudyRow {
                        scheme,
                        param: sparsity,
                        sparsity,
                        hidden,
                        its,
                        seed,
                        d: (d + noise).clamp(0.0, 1.0),
                        method: OrderMethod::Exact,
                        final_loss: 0.01,
                        d_null: None,
                    }),
                    done,
                    total,
                }),
            });
        }
    }
    events.push(Event::Finished {
        run,
        outcome: Outcome::Completed,
        summary: None,
    });
    events
}

/// A stand-in for the Ordering lab's worker: records commands and answers each start with a
/// synthetic run or study. Paced: each event is released `pace` after the previous one.
#[derive(Clone, Default)]
pub struct Synthetic {
    pub sent: Arc<Mutex<Vec<Command>>>,
    events: Arc<Mutex<VecDeque<Event>>>,
    next_run: Arc<Mutex<RunId>>,
    /// Steps of a synthetic run (`None`: as many as its config asks for).
    pub steps: Option<u64>,
    pub pace: Option<Duration>,
    release: Arc<Mutex<Option<Instant>>>,
}

impl Synthetic {
    pub fn new(steps: Option<u64>, pace: Option<Duration>) -> Self {
        Self {
            steps,
            pace,
            ..Self::default()
        }
    }

    /// Events not yet taken.
    pub fn pending(&self) -> usize {
        self.events.lock().unwrap().len()
    }
}

impl Backend for Synthetic {
    fn send(&self, cmd: Command) {
        if let Command::Start(config) = &cmd {
            let run = {
                let mut r = self.next_run.lock().unwrap();
                *r += 1;
                *r
            };
            let events = match config.as_ref() {
                ValidRunConfig::Ordering(c) => run_events(run, c, self.steps, 2),
                ValidRunConfig::OrderingStudy(c) => study_events(run, c),
                ValidRunConfig::Grokking(_)
                | ValidRunConfig::CapacitySweep(_)
                | ValidRunConfig::PhaseStudy(_) => {
                    panic!("the Ordering lab started another lab's run: {config:?}")
                }
            };
            let mut queue = self.events.lock().unwrap();
            // a new start replaces what the last one had left to say
            queue.clear();
            queue.extend(events);
            *self.release.lock().unwrap() = Some(Instant::now());
        }
        self.sent.lock().unwrap().push(cmd);
    }

    fn try_recv(&self) -> Option<Event> {
        if let Some(pace) = self.pace {
            let mut release = self.release.lock().unwrap();
            let due = (*release)?;
            if Instant::now() < due {
                return None;
            }
            *release = Some(due + pace);
        }
        self.events.lock().unwrap().pop_front()
    }
}
