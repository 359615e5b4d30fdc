//! The Capacity lab's study: the records of finished sweep tasks (what a sweep folder stores, what a
//! sweep reports) and their analysis: the capacity fit, and per prime the crossing of the mean T_mem
//! and T_gen curves (predicted onset P*), the observed onset and the memorisation-speed fit. Pure:
//! `grokscope analyse`, the app's Capacity tab and the figures all call it.

use crate::analysis::capacity::{
    ExpFit, LinearFit, SeedMean, capacity_fit, capacity_fraction, crossings, exp_fit,
    mean_over_seeds, observed_onset,
};
use crate::config::capacity::Task;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Memorised bits after training on n random-label examples (one capacity run).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct CapacityPoint {
    /// Examples in the random-label set.
    pub n: usize,
    /// Memorised bits in eval mode, `memorised_bits_from_loss` (may be negative).
    pub bits: f64,
    /// Epochs trained.
    pub epochs: u64,
    /// The loss saturated (false: the epoch cap ended the run).
    pub saturated: bool,
    /// Eval-mode accuracy on the set at the end.
    pub train_acc_eval: f64,
}

/// One evaluated epoch of a task's modular run.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct GenCurvePoint {
    pub epoch: u64,
    /// Running train accuracy over the epoch's minibatches (dropout on).
    pub train_acc: f64,
    /// Mean train loss over the epoch's minibatches (dropout on).
    pub train_loss: f64,
    /// Validation accuracy (eval mode); `None` at an epoch kept without an evaluation (t_train between
    /// evaluations).
    pub val_acc: Option<f64>,
    /// Validation loss (eval mode), as `val_acc`.
    pub val_loss: Option<f64>,
}

/// One epoch of a task's random-label run.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct MemCurvePoint {
    pub epoch: u64,
    /// Running train accuracy over the epoch's minibatches (dropout on).
    pub train_acc: f64,
    /// Mean train loss over the epoch's minibatches.
    pub train_loss: f64,
}

/// The training curves of a task, thinned to at most about `CURVE_MAX_POINTS` (the runner's) points each, with the
/// first epoch at each threshold (t_train, 98 % and 99 % validation, T_mem) and the last epoch kept
/// exactly.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct TaskCurves {
    /// The modular run, per evaluated epoch (and t_train's epoch).
    pub gen_run: Vec<GenCurvePoint>,
    /// The random-label run, per epoch.
    pub mem_run: Vec<MemCurvePoint>,
}

impl TaskCurves {
    /// No curve: a result written before curves were stored.
    pub fn is_empty(&self) -> bool {
        self.gen_run.is_empty() && self.mem_run.is_empty()
    }
}

/// The measurements of one sweep task (one width, prime and seed).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct TaskResult {
    /// The result format version of the code that wrote it (`store::sweep_dir::RESULT_VERSION`).
    pub version: u32,
    /// `config_key` of the sweep and task it was measured for.
    pub key: String,
    pub width: usize,
    pub p: u32,
    pub seed: u64,
    /// Parameter count P of the model.
    pub params: u64,
    /// Random-label examples of equivalent complexity: floor(train_fraction * n).
    pub n_equiv: usize,
    /// Their complexity S = n_equiv log2(p + 2) bits.
    pub complexity_bits: f64,
    /// First epoch with running train accuracy >= 99 % on the modular task.
    pub t_train: Option<u64>,
    /// T_gen: first epoch with validation accuracy >= 99 %.
    pub t_gen: Option<u64>,
    /// Generalisation delay (the runner's `delay`): the detector's rule, 0 for a run that generalised without its
    /// running train accuracy reaching 99 %; `None` when neither happened.
    pub delay: Option<u64>,
    /// Epochs the modular run trained.
    pub gen_epochs: u64,
    /// Running train accuracy of the modular run's last epoch.
    pub final_train_acc: Option<f64>,
    /// Last validation accuracy of the modular run.
    pub final_val_acc: Option<f64>,
    /// T_mem: first epoch with running train accuracy >= 99 % on the random labels.
    pub t_mem: Option<u64>,
    /// Epochs the random-label run trained.
    pub mem_epochs: u64,
    /// Running train accuracy of the random-label run's last epoch.
    pub mem_final_train_acc: Option<f64>,
    /// Capacity runs by increasing n (empty when off).
    pub capacity: Vec<CapacityPoint>,
    /// Seconds its trainings took, added (each on one core; a sweep may run a task's two trainings side
    /// by side).
    pub wall_secs: f64,
    /// The modular and random-label runs' curves. Results written before curves were stored have none
    /// and load with empty ones; `merge` and `analyse` do not read them.
    #[serde(default, skip_serializing_if = "TaskCurves::is_empty")]
    pub curves: TaskCurves,
}

impl TaskResult {
    pub fn task(&self) -> Task {
        Task {
            p: self.p,
            width: self.width,
            seed: self.seed,
        }
    }

    /// Whether the delay is a lower bound: the modular run memorised but never generalised, so its
    /// delay is the spec's epochs run - t_train (the run might have generalised later). A run whose
    /// validation reached 98 % (the delay's threshold) on its very last epoch has that same delay,
    /// exactly; "at least" still holds of it.
    pub fn delay_is_lower_bound(&self) -> bool {
        crate::analysis::events::delay_is_lower_bound(
            self.t_train,
            self.t_gen,
            self.delay,
            self.gen_epochs,
        )
    }

    /// The delay in epochs as the window and the command line write it: "≥ N (never generalised)" for
    /// a lower bound, "never" when neither threshold was reached.
    pub fn delay_text(&self) -> String {
        match self.delay {
            Some(d) if self.delay_is_lower_bound() => format!("≥ {d} (never generalised)"),
            Some(d) => d.to_string(),
            None => "never".into(),
        }
    }

    /// The largest memorised bits over n; `None` without capacity runs.
    pub fn max_bits(&self) -> Option<f64> {
        self.max_point().map(|c| c.bits)
    }

    /// The capacity run with the largest memorised bits (the first of equals; NaN ignored).
    pub fn max_point(&self) -> Option<&CapacityPoint> {
        self.capacity
            .iter()
            .filter(|c| !c.bits.is_nan())
            .reduce(|best, c| if c.bits > best.bits { c } else { best })
    }

    /// Whether the largest memorised bits is only a lower bound, and why: (its run was stopped by the
    /// epoch cap while the loss still improved, it is the largest n tried, so a larger set might
    /// hold more). `None` without capacity runs.
    pub fn max_bits_bound(&self) -> Option<(bool, bool)> {
        let best = self.max_point()?;
        let top_n = self.capacity.iter().map(|c| c.n).max();
        Some((!best.saturated, Some(best.n) == top_n))
    }
}

/// Grid points of the predicted-onset search.
const ONSET_GRID: usize = 1000;
/// Bits per parameter used for the capacity fraction when no capacity runs measured C: the value the
/// paper's code fixes for its transformer (spec section 2).
pub const PAPER_BITS_PER_PARAM: f64 = 2.16;

/// A capacity C given from outside the sweep's own capacity runs (a value measured by another sweep,
/// say `C ≈ 1.83` from the `capacity-cpu` preset): checked once, so it is a positive finite number of
/// bits per parameter, with where it came from.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GivenC {
    bits_per_param: f64,
    source: String,
    lower_bound: bool,
}

/// Why a C cannot be used.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum BadC {
    #[error("C = {0} is not a finite number of bits per parameter (give a number > 0, e.g. 2.16)")]
    NotFinite(f64),
    #[error("C = {0} bits per parameter must be greater than 0 (e.g. 2.16, the paper's value)")]
    NotPositive(f64),
}

impl GivenC {
    /// `bits_per_param` with its `source` (written in the figures' notes and the JSON), and whether it
    /// is only a lower bound (a measured "C ≥"); refused unless finite and > 0.
    pub fn new(
        bits_per_param: f64,
        source: impl Into<String>,
        lower_bound: bool,
    ) -> Result<Self, BadC> {
        if !bits_per_param.is_finite() {
            return Err(BadC::NotFinite(bits_per_param));
        }
        if bits_per_param <= 0.0 {
            return Err(BadC::NotPositive(bits_per_param));
        }
        Ok(GivenC {
            bits_per_param,
            source: source.into(),
            lower_bound,
        })
    }

    pub fn bits_per_param(&self) -> f64 {
        self.bits_per_param
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    pub fn lower_bound(&self) -> bool {
        self.lower_bound
    }
}

/// Which C the capacity fraction f = S / (C P) (and so the speed model's fit) uses.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum CChoice {
    /// The sweep's own capacity fit when its slope is positive, else the paper's 2.16.
    #[default]
    Auto,
    /// This value, whatever the sweep measured.
    Given(GivenC),
}

/// Where the C in use came from.
#[derive(Clone, Debug, PartialEq)]
pub enum CFrom {
    /// The slope of this sweep's capacity fit.
    Measured,
    /// [`PAPER_BITS_PER_PARAM`]: the sweep has no usable capacity fit.
    Paper,
    /// Given by the user ([`CChoice::Given`]).
    Given(GivenC),
}

/// A mean over seeds as `analyse` prints it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Mean {
    /// Mean over the runs that reached the threshold; `None` when none did.
    pub mean: Option<f64>,
    /// Runs in the mean.
    pub runs: usize,
    /// Runs that never reached the threshold (left out of the mean).
    pub never: usize,
}

impl From<&SeedMean> for Mean {
    fn from(m: &SeedMean) -> Self {
        Mean {
            mean: m.mean,
            runs: m.used,
            never: m.left_out,
        }
    }
}

/// One model size of one prime.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SizeRow {
    pub params: u64,
    pub width: usize,
    pub t_mem: Mean,
    pub t_gen: Mean,
    pub delay: Mean,
    /// Of the delays in `delay`'s mean, how many are only lower bounds: runs that memorised and never
    /// generalised, whose delay is the spec's epochs run − t_train (`sweep.csv`'s
    /// `delay_lower_bound`; the analysis JSON did not say so: a helper's audit).
    pub delay_lower_bounds: usize,
    /// The smallest delay over seeds (the observed onset's input); `None` when no seed memorised.
    pub min_delay: Option<u64>,
    /// Capacity fraction f = S / (C P) with the C in use.
    pub capacity_fraction: f64,
}

/// The crossing of one prime.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PrimeAnalysis {
    pub p: u32,
    /// Predicted onset P*: the first P where the mean T_mem and T_gen curves cross; `None` when they
    /// do not cross between sizes where both are measured (`p_star_note` says why).
    pub p_star: Option<f64>,
    /// Every crossing, by increasing P (more than one when the curves cross back).
    pub p_star_all: Vec<f64>,
    /// Brackets [P, P'] of sizes where the curves must cross although at one of the two the order
    /// of T_mem and T_gen is known only from a bound: some or all of its runs never reached 99 % of
    /// one timescale within their epochs, and counted at those epochs they put its mean over all runs
    /// above the other timescale's mean there (sizes whose order is unknown between them are passed
    /// over). A crossing beyond the measured ones, or P*'s bracket when there is no measured
    /// crossing: an interval, not a point.
    pub p_star_between: Vec<[f64; 2]>,
    /// Why there is no P*, that there are several crossings, or what bounds a crossing; `None` for
    /// one crossing and nothing more to say.
    pub p_star_note: Option<String>,
    /// Observed onset: the smallest P after the last P whose minimum delay is 0.
    pub observed_onset: Option<f64>,
    /// T_mem = a exp(b f) over the runs that memorised.
    pub exp_fit: Option<ExpFit>,
    pub sizes: Vec<SizeRow>,
}

/// A value or NaN (NaN is how the analysis functions mark "no value").
fn or_nan(v: Option<u64>) -> f64 {
    v.map_or(f64::NAN, |x| x as f64)
}

/// One point of the capacity fit: a model size and the mean over its seeds of the largest memorised
/// bits over n.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CapacityMax {
    pub params: f64,
    pub max_bits: f64,
    /// Only a lower bound: some seed's largest bits is from a run stopped by the epoch cap while still
    /// improving (`unsaturated`) or from the largest n tried (`top_of_grid`).
    pub lower_bound: bool,
    pub unsaturated: bool,
    pub top_of_grid: bool,
}

/// The capacity fit over every task with capacity runs: per task the largest memorised bits over n,
/// averaged over seeds per P, then the least-squares line through (P, bits).
pub fn capacity_of(results: &[TaskResult]) -> (Option<LinearFit>, Vec<CapacityMax>) {
    let rows: Vec<(f64, f64)> = results
        .iter()
        .filter_map(|r| Some((r.params as f64, r.max_bits()?)))
        .collect();
    let points: Vec<CapacityMax> = mean_over_seeds(&rows)
        .iter()
        .filter_map(|m| {
            let bounds: Vec<(bool, bool)> = results
                .iter()
                .filter(|r| r.params as f64 == m.params)
                .filter_map(TaskResult::max_bits_bound)
                .collect();
            let unsaturated = bounds.iter().any(|b| b.0);
            let top_of_grid = bounds.iter().any(|b| b.1);
            Some(CapacityMax {
                params: m.params,
                max_bits: m.mean?,
                lower_bound: unsaturated || top_of_grid,
                unsaturated,
                top_of_grid,
            })
        })
        .collect();
    let xy: Vec<(f64, f64)> = points.iter().map(|c| (c.params, c.max_bits)).collect();
    (capacity_fit(&xy), points)
}

/// How T_mem and T_gen lie at one size where their order is known: `mem_above` is T_mem > T_gen;
/// `why` is `None` where both are measured over every run, else the bound it comes from.
struct Order {
    params: f64,
    mem_above: bool,
    why: Option<String>,
}

/// One timescale at one size over all its runs: the spec's mean (of the runs that reached 99 %)
/// and what the runs that never did say of the mean over all of them. Such a run trained E epochs
/// without reaching 99 %, so its time is more than E (epochs count from 1): counted at E, the mean
/// over all runs is more than `lo`. The mean is censored, and `lo` only a lower bound, when some
/// run never reached it; with none, `lo` is the mean itself.
struct Timescale {
    /// Mean over the runs that reached 99 % (the spec's curve); `None` when none did.
    mean: Option<f64>,
    runs: usize,
    /// Runs that never reached 99 % (censored).
    never: usize,
    /// The fewest and most epochs a censored run trained (0, 0 with none).
    caps: (u64, u64),
    lo: f64,
}

impl Timescale {
    /// `time` and `trained` (epochs) of each run.
    fn of(
        runs: &[&&TaskResult],
        time: fn(&TaskResult) -> Option<u64>,
        trained: fn(&TaskResult) -> u64,
    ) -> Self {
        let reached: Vec<f64> = runs
            .iter()
            .filter_map(|r| time(r))
            .map(|t| t as f64)
            .collect();
        let caps: Vec<u64> = runs
            .iter()
            .filter(|r| time(r).is_none())
            .map(|r| trained(r))
            .collect();
        let n = runs.len();
        let sum = reached.iter().sum::<f64>() + caps.iter().map(|&c| c as f64).sum::<f64>();
        Timescale {
            mean: (!reached.is_empty()).then(|| reached.iter().sum::<f64>() / reached.len() as f64),
            runs: n,
            never: caps.len(),
            caps: (
                caps.iter().copied().min().unwrap_or(0),
                caps.iter().copied().max().unwrap_or(0),
            ),
            lo: if n == 0 { f64::NAN } else { sum / n as f64 },
        }
    }

    /// "3000 epochs" or "1000 to 3000 epochs": what the censored runs trained.
    fn caps_text(&self) -> String {
        match self.caps {
            (a, b) if a == b => format!("{a} epochs"),
            (a, b) => format!("{a} to {b} epochs"),
        }
    }

    /// What the censored runs at `params` say of the mean, as a bound: "no run memorised the
    /// random labels in 3000 epochs" (every run censored: the old wording) or "1 of 3 runs never
    /// memorised the random labels (in 3000 epochs), so the mean T_mem over all 3 is more than 1403
    /// (the spec's mean, 605, leaves it out)". `did` is what reaching 99 % is ("memorised the random
    /// labels"), `name` the timescale's.
    fn bound_text(&self, params: f64, did: &str, name: &str) -> String {
        match self.mean {
            None if self.caps.0 == self.caps.1 => {
                format!("at P = {params:.0} no run {did} in {}", self.caps_text())
            }
            None => format!(
                "at P = {params:.0} no run {did} in {}, so the mean {name} is more than {:.0}",
                self.caps_text(),
                self.lo
            ),
            Some(m) => format!(
                "at P = {params:.0} {} of {} runs never {did} (in {}), so the mean {name} over all \
                 {} is more than {:.0} (the spec's mean, {m:.0}, leaves {} out)",
                self.never,
                self.runs,
                self.caps_text(),
                self.runs,
                self.lo,
                if self.never == 1 { "it" } else { "them" }
            ),
        }
    }
}

/// The order of T_mem and T_gen at one size: from both means where every run reached both
/// thresholds (none where equal: a crossing), else from a bound when one timescale's mean is
/// censored (some or all of its runs never reached 99 %) and the other's is not: counted at the
/// epochs they trained, the censored runs put the mean over all runs above the other mean. Where
/// both are censored, or the bound falls short, the order is unknown.
fn order_at(params: f64, mem: &Timescale, gen_t: &Timescale) -> Option<Order> {
    let (mem_above, why) = match (mem.never, gen_t.never) {
        (0, 0) => {
            let (tm, tg) = (mem.mean?, gen_t.mean?);
            if tm == tg {
                return None;
            }
            (tm > tg, None)
        }
        (_, 0) => {
            let tg = gen_t.mean?;
            if mem.lo < tg {
                return None;
            }
            let b = mem.bound_text(params, "memorised the random labels", "T_mem");
            (true, Some(format!("{b} while T_gen = {tg:.0}")))
        }
        (0, _) => {
            let tm = mem.mean?;
            if gen_t.lo < tm {
                return None;
            }
            let b = gen_t.bound_text(params, "generalised", "T_gen");
            (false, Some(format!("{b} while T_mem = {tm:.0}")))
        }
        (_, _) => return None,
    };
    Some(Order {
        params,
        mem_above,
        why,
    })
}

/// "above" or "below": where T_mem lies against T_gen.
fn side(mem_above: bool) -> &'static str {
    if mem_above { "above" } else { "below" }
}

/// P*'s crossings, the intervals bounds put a crossing in, and the note that says what they mean.
fn onset_of(
    ps: &[f64],
    mem: &[SeedMean],
    gen_means: &[SeedMean],
    results: &[&TaskResult],
) -> (Vec<f64>, Vec<[f64; 2]>, Option<String>) {
    let mean_or_nan =
        |v: &[SeedMean]| -> Vec<f64> { v.iter().map(|m| m.mean.unwrap_or(f64::NAN)).collect() };
    let c = crossings(ps, &mean_or_nan(mem), &mean_or_nan(gen_means), ONSET_GRID);
    let scales: Vec<(f64, Timescale, Timescale)> = mem
        .iter()
        .map(|m| {
            let runs: Vec<&&TaskResult> = results
                .iter()
                .filter(|r| r.params as f64 == m.params)
                .collect();
            (
                m.params,
                Timescale::of(&runs, |r| r.t_mem, |r| r.mem_epochs),
                Timescale::of(&runs, |r| r.t_gen, |r| r.gen_epochs),
            )
        })
        .collect();
    let orders: Vec<Order> = scales
        .iter()
        .filter_map(|(p, m, g)| order_at(*p, m, g))
        .collect();
    // neighbours in order that disagree, one of them known only from a cap, with no measured
    // crossing between them
    let bounded: Vec<([f64; 2], String)> = orders
        .windows(2)
        .filter(|w| w[0].mem_above != w[1].mem_above)
        .filter(|w| {
            !c.points
                .iter()
                .any(|&x| w[0].params <= x && x <= w[1].params)
        })
        .filter_map(|w| {
            let bounds: Vec<String> = w
                .iter()
                .filter_map(|o| {
                    let sign = if o.mem_above { ">" } else { "<" };
                    Some(format!("{}, so T_mem {sign} T_gen there", o.why.as_ref()?))
                })
                .collect();
            if bounds.is_empty() {
                return None;
            }
            let text = format!(
                "{}: they cross between {:.0} and {:.0} (a bracket, not a point)",
                bounds.join(", and "),
                w[0].params,
                w[1].params
            );
            Some(([w[0].params, w[1].params], text))
        })
        .collect();
    let mut note = match (c.points.as_slice(), c.gaps.as_slice()) {
        (_, []) => Some("no crossing: no model size has both a T_mem and a T_gen".to_string()),
        ([], [(p, g)]) => Some(format!(
            "no crossing: T_mem is {} T_gen at P = {p:.0}, the one size where both are measured",
            side(*g > 0.0)
        )),
        ([], gaps) => Some(format!(
            "no crossing in [{:.0}, {:.0}]: T_mem {} T_gen throughout",
            gaps[0].0,
            gaps[gaps.len() - 1].0,
            side(gaps[0].1 > 0.0)
        )),
        ([_], _) => None,
        (many, _) => Some(format!(
            "T_mem and T_gen cross {} times, at {}; P* is the first",
            many.len(),
            many.iter()
                .map(|x| format!("{x:.0}"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    };
    // a crossing of the spec's means beside a size whose mean leaves out runs that never reached
    // 99 % is an estimate: the mean over all its runs is larger than the one drawn
    let censored: Vec<String> = c
        .points
        .iter()
        .filter_map(|&x| {
            let beside: Vec<String> = scales
                .iter()
                .filter(|(p, ..)| {
                    let lo = c.gaps.iter().rev().find(|g| g.0 <= x).map(|g| g.0);
                    let hi = c.gaps.iter().find(|g| g.0 >= x).map(|g| g.0);
                    Some(*p) == lo || Some(*p) == hi
                })
                .flat_map(|(p, m, g)| {
                    let mem = (m.never > 0).then(|| {
                        format!("{} of {} runs never memorised at P = {p:.0}", m.never, m.runs)
                    });
                    let gen_t = (g.never > 0).then(|| {
                        format!("{} of {} runs never generalised at P = {p:.0}", g.never, g.runs)
                    });
                    mem.into_iter().chain(gen_t)
                })
                .collect();
            (!beside.is_empty()).then(|| {
                format!(
                    "the crossing at {x:.0} is of means that leave out runs that never reached 99 % \
                     ({}): an estimate, not a bound",
                    beside.join(", ")
                )
            })
        })
        .collect();
    for text in censored.iter().chain(bounded.iter().map(|b| &b.1)) {
        note = Some(match note {
            Some(n) => format!("{n}; {text}"),
            None => text.clone(),
        });
    }
    (c.points, bounded.into_iter().map(|b| b.0).collect(), note)
}

/// Analyse one prime's results with capacity `c` bits per parameter.
pub fn analyse_prime(p: u32, results: &[&TaskResult], c: f64) -> PrimeAnalysis {
    let rows = |f: &dyn Fn(&TaskResult) -> f64| -> Vec<(f64, f64)> {
        results.iter().map(|r| (r.params as f64, f(r))).collect()
    };
    let mem = mean_over_seeds(&rows(&|r| or_nan(r.t_mem)));
    let gen_means = mean_over_seeds(&rows(&|r| or_nan(r.t_gen)));
    let delay_rows = rows(&|r| or_nan(r.delay));
    let delay = mean_over_seeds(&delay_rows);
    let ps: Vec<f64> = mem.iter().map(|m| m.params).collect();
    let (p_star_all, p_star_between, p_star_note) = onset_of(&ps, &mem, &gen_means, results);
    let f: Vec<f64> = results
        .iter()
        .map(|r| capacity_fraction(r.complexity_bits, c, r.params as f64))
        .collect();
    let t_mem: Vec<f64> = results.iter().map(|r| or_nan(r.t_mem)).collect();
    let sizes = mem
        .iter()
        .zip(&gen_means)
        .zip(&delay)
        .map(|((m, g), d)| {
            let same: Vec<&&TaskResult> = results
                .iter()
                .filter(|r| r.params as f64 == m.params)
                .collect();
            SizeRow {
                params: m.params as u64,
                width: same.first().map_or(0, |r| r.width),
                t_mem: m.into(),
                t_gen: g.into(),
                delay: d.into(),
                delay_lower_bounds: same.iter().filter(|r| r.delay_is_lower_bound()).count(),
                min_delay: same.iter().filter_map(|r| r.delay).min(),
                capacity_fraction: same.first().map_or(f64::NAN, |r| {
                    capacity_fraction(r.complexity_bits, c, m.params)
                }),
            }
        })
        .collect();
    PrimeAnalysis {
        p,
        p_star: p_star_all.first().copied(),
        p_star_all,
        p_star_between,
        p_star_note,
        observed_onset: observed_onset(&delay_rows),
        exp_fit: exp_fit(&f, &t_mem),
        sizes,
    }
}

/// The whole analysis of a set of results, as the app draws it.
#[derive(Clone, Debug, PartialEq)]
pub struct Analysis {
    /// The capacity fit (bits = slope P + intercept) over the tasks with capacity runs.
    pub fit: Option<LinearFit>,
    /// Its points: per P the mean over seeds of the largest memorised bits, and whether it is a bound.
    pub points: Vec<CapacityMax>,
    /// C in use: a given C ([`CChoice::Given`]), else the fit's slope when positive, else
    /// [`PAPER_BITS_PER_PARAM`].
    pub c: f64,
    /// Where `c` came from.
    pub c_from: CFrom,
    /// The fit's slope is only a lower bound ("C ≥"): some of its points are lower bounds (see
    /// [`CapacityMax`]), each at a P at or above the points' mean, where a larger value can only
    /// raise the least-squares slope (its weight, P − mean P, is not negative).
    pub c_lower_bound: bool,
    /// The fit's slope is uncertain either way ("C ≈"): a point that is only a lower bound lies below
    /// the points' mean P, where a larger value lowers the slope, so the slope may be too high as
    /// well as too low (a spec audit: the capacity-cpu preset's "C ≥ 1.83" fell to 1.82 when its
    /// smallest size, still rising at the top of its grid, was given a larger n).
    pub c_uncertain: bool,
    /// One crossing per prime, by increasing prime.
    pub primes: Vec<PrimeAnalysis>,
}

impl Analysis {
    /// Whether the C in use is a value this sweep measured.
    pub fn c_measured(&self) -> bool {
        self.c_from == CFrom::Measured
    }

    /// Whether the C in use is only a lower bound (a measured "C ≥"), so f = S / (C P) is at most
    /// what is written.
    pub fn c_used_is_lower_bound(&self) -> bool {
        match &self.c_from {
            CFrom::Measured => self.c_lower_bound,
            CFrom::Paper => false,
            CFrom::Given(g) => g.lower_bound,
        }
    }

    /// Whether the C in use is this sweep's slope and uncertain either way (a measured "C ≈").
    pub fn c_used_is_uncertain(&self) -> bool {
        self.c_from == CFrom::Measured && self.c_uncertain
    }

    /// Where the C in use came from, in words: "measured by this sweep's capacity runs", "the
    /// paper's value (…)" or "given: SOURCE".
    pub fn c_source_text(&self) -> String {
        match &self.c_from {
            CFrom::Measured => "measured by this sweep's capacity runs".to_string(),
            CFrom::Paper => {
                let why = if self.points.is_empty() {
                    "no capacity runs"
                } else if self.fit.is_none() {
                    "capacity runs of one size; the fit needs two"
                } else {
                    "the capacity fit has no positive slope"
                };
                format!("the paper's value ({why})")
            }
            CFrom::Given(g) => format!("given: {}", g.source),
        }
    }
}

/// Analyse `results`: the capacity fit, then each prime with the C in use ([`CChoice::Auto`]).
pub fn analyse(results: &[TaskResult]) -> Analysis {
    analyse_with(results, &CChoice::Auto)
}

/// [`analyse`] with the C of `choice` for the capacity fractions and the speed model's fit.
pub fn analyse_with(results: &[TaskResult], choice: &CChoice) -> Analysis {
    let (fit, points) = capacity_of(results);
    let (c, c_from) = match (choice, &fit) {
        (CChoice::Given(g), _) => (g.bits_per_param, CFrom::Given(g.clone())),
        (CChoice::Auto, Some(f)) if f.slope > 0.0 => (f.slope, CFrom::Measured),
        (CChoice::Auto, Some(_) | None) => (PAPER_BITS_PER_PARAM, CFrom::Paper),
    };
    let (c_lower_bound, c_uncertain) = bound_of_slope(fit.is_some(), &points);
    let mut by_prime: BTreeMap<u32, Vec<&TaskResult>> = BTreeMap::new();
    for r in results {
        by_prime.entry(r.p).or_default().push(r);
    }
    let primes = by_prime
        .iter()
        .map(|(&p, rs)| analyse_prime(p, rs, c))
        .collect();
    Analysis {
        fit,
        points,
        c,
        c_from,
        c_lower_bound,
        c_uncertain,
        primes,
    }
}

/// Why a capacity fit's slope is qualified, in words, when it is: uncertain either way, or a lower
/// bound ([`bound_of_slope`]'s two answers).
pub fn slope_why(lower_bound: bool, uncertain: bool) -> Option<&'static str> {
    if uncertain {
        Some(
            "uncertain either way: a small size's bits are only a lower bound, and more there \
             would lower the slope",
        )
    } else if lower_bound {
        Some("a lower bound: larger sizes' bits still rose")
    } else {
        None
    }
}

/// Whether the least-squares slope through `points` is a lower bound of the true one, or uncertain
/// either way: (lower bound, uncertain). The slope is sum_i (P_i − mean P) y_i / S_xx, linear in
/// each point's bits with the weight P_i − mean P: raising a bound point at or above the mean raises
/// it, one below the mean lowers it. Neither without a fit or without a bound point.
pub fn bound_of_slope(fitted: bool, points: &[CapacityMax]) -> (bool, bool) {
    if !fitted || points.is_empty() {
        return (false, false);
    }
    let mean = points.iter().map(|p| p.params).sum::<f64>() / points.len() as f64;
    let bound = points.iter().filter(|p| p.lower_bound);
    let uncertain = bound.clone().any(|p| p.params < mean);
    let lower = !uncertain && bound.count() > 0;
    (lower, uncertain)
}

/// The whole analysis as one JSON object (see `grokscope analyse --help`), with the C of `choice`.
pub fn analysis_json(results: &[TaskResult], choice: &CChoice) -> serde_json::Value {
    let an = analyse_with(results, choice);
    let c_source = match &an.c_from {
        CFrom::Measured => "measured".to_string(),
        CFrom::Paper => "the paper's 2.16 bits per parameter (no usable capacity runs)".to_string(),
        CFrom::Given(g) => format!("given: {}", g.source),
    };
    let c_used_lower_bound = an.c_used_is_lower_bound();
    let Analysis {
        fit,
        points,
        c,
        c_from: _,
        c_lower_bound,
        c_uncertain,
        primes,
    } = an;
    // one prime: its numbers directly; several: keyed by prime; none: null
    let per = |f: &dyn Fn(&PrimeAnalysis) -> serde_json::Value| -> serde_json::Value {
        match primes.as_slice() {
            [] => serde_json::Value::Null,
            [one] => f(one),
            many => many.iter().map(|a| (a.p.to_string(), f(a))).collect(),
        }
    };
    serde_json::json!({
        "results": results.len(),
        "capacity_bits_per_param": fit.as_ref().map(|f| f.slope),
        "capacity_fit": fit,
        "capacity_points": points,
        "c_lower_bound": c_lower_bound,
        "c_uncertain": c_uncertain,
        "c_used": c,
        "c_used_lower_bound": c_used_lower_bound,
        "c_source": c_source,
        "p_star": per(&|a| serde_json::json!(a.p_star)),
        "p_star_all": per(&|a| serde_json::json!(a.p_star_all)),
        "p_star_between": per(&|a| serde_json::json!(a.p_star_between)),
        "p_star_note": per(&|a| serde_json::json!(a.p_star_note)),
        "observed_onset": per(&|a| serde_json::json!(a.observed_onset)),
        "exp_fit": per(&|a| serde_json::json!(a.exp_fit)),
        "primes": primes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A least-squares slope through lower-bound points is a lower bound only when those points lie
    /// at or above the sizes' mean P (raising one raises the slope); one below it makes the slope
    /// uncertain either way. Expected by hand from sizes P = 100, 200, 300 (mean 200) and the
    /// capacity-cpu preset's case (a spec audit): its smallest size, still rising at the top of its
    /// grid, is the bound, so "C ≥ 1.83" was wrong (given 861.5 bits in place of 841, C fell to
    /// 1.823).
    #[test]
    fn a_slope_is_a_lower_bound_only_from_bounds_above_the_mean_size() {
        let point = |params: f64, lower_bound: bool| CapacityMax {
            params,
            max_bits: 2.0 * params,
            lower_bound,
            unsaturated: lower_bound,
            top_of_grid: false,
        };
        let sizes = |bound: [bool; 3]| -> Vec<CapacityMax> {
            [100.0, 200.0, 300.0]
                .into_iter()
                .zip(bound)
                .map(|(p, b)| point(p, b))
                .collect()
        };
        assert_eq!(bound_of_slope(true, &sizes([false; 3])), (false, false));
        assert_eq!(
            bound_of_slope(true, &sizes([false, false, true])),
            (true, false)
        );
        // the mean size's weight is 0: a bound there moves nothing
        assert_eq!(
            bound_of_slope(true, &sizes([false, true, true])),
            (true, false)
        );
        assert_eq!(
            bound_of_slope(true, &sizes([true, false, false])),
            (false, true)
        );
        assert_eq!(
            bound_of_slope(true, &sizes([true, false, true])),
            (false, true)
        );
        assert_eq!(bound_of_slope(false, &sizes([true; 3])), (false, false));
        // the slope itself, by hand: raising the smallest point lowers it, the largest raises it
        let slope = |ys: [f64; 3]| {
            crate::analysis::capacity::capacity_fit(&[
                (100.0, ys[0]),
                (200.0, ys[1]),
                (300.0, ys[2]),
            ])
            .unwrap()
            .slope
        };
        assert!(slope([250.0, 400.0, 600.0]) < slope([200.0, 400.0, 600.0]));
        assert!(slope([200.0, 400.0, 650.0]) > slope([200.0, 400.0, 600.0]));
    }
}
