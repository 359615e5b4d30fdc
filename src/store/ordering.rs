//! The Ordering lab's history: one run's metrics and layer snapshots, and a study's finished runs with
//! their per-setting aggregates.
//!
//! Pure data (no UI types). Everything arriving from the worker is checked before it is kept: a
//! snapshot whose shapes do not agree, or whose order is not a permutation, is counted and dropped, so
//! the views can index without checks of their own.

use super::history::RunHistory;
use crate::config::ordering::Scheme;
use crate::config::{OrderingConfig, OrderingStudyConfig};
use crate::protocol::{LayerSnapshot, MetricRow, OrderMethod, Outcome, RunId, StudyRow, Summary};
use std::collections::BTreeMap;

/// Snapshots kept at most; when full, every other older one is dropped (see [`OrderingHistory`]).
pub const MAX_SNAPSHOTS: usize = 2048;

/// Largest layer accepted (neurons of the square block): W has n x (n + inputs) entries.
pub const MAX_NEURONS: usize = 1024;

/// Why a snapshot was refused.
pub fn check_snapshot(s: &LayerSnapshot) -> Result<(), String> {
    let n = s.hidden.saturating_add(s.outputs);
    if n == 0 || n > MAX_NEURONS || s.inputs > MAX_NEURONS {
        return Err(format!(
            "layer of {} hidden + {} outputs and {} inputs is outside 1..={MAX_NEURONS} neurons",
            s.hidden, s.outputs, s.inputs
        ));
    }
    let cells = n * (n + s.inputs);
    if s.weights.len() != cells {
        return Err(format!(
            "{} weights for a {n} x {} layer",
            s.weights.len(),
            n + s.inputs
        ));
    }
    if !s.pruned.is_empty() && s.pruned.len() != cells {
        return Err(format!(
            "pruned mask of {} entries for {cells} weights",
            s.pruned.len()
        ));
    }
    let mut seen = vec![false; n];
    if s.order.len() != n {
        return Err(format!(
            "order lists {} neurons, the layer has {n}",
            s.order.len()
        ));
    }
    for &i in &s.order {
        match seen.get_mut(i) {
            Some(slot) if !*slot => *slot = true,
            Some(_) | None => return Err(format!("order is not a permutation of 0..{n}")),
        }
    }
    Ok(())
}

/// Masses of |W|'s square block under an ordering: `(lower, upper, diagonal)`, where `lower` sums the
/// entries whose receiver comes after its sender in `order` (row position > column position of the
/// permuted block; what D's minimum counts) and `upper` the rest off the diagonal.
///
/// `order` must be a permutation of `0..n` and `weights` n x `cols` row-major (as [`check_snapshot`]
/// ensures); entries out of range are skipped rather than trusted.
pub fn triangle_masses(weights: &[f32], n: usize, cols: usize, order: &[usize]) -> (f64, f64, f64) {
    let mut pos = vec![0usize; n];
    for (p, &i) in order.iter().enumerate() {
        if let Some(slot) = pos.get_mut(i) {
            *slot = p;
        }
    }
    let (mut lower, mut upper, mut diag) = (0.0, 0.0, 0.0);
    for r in 0..n {
        for c in 0..n {
            let Some(w) = weights.get(r * cols + c) else {
                continue;
            };
            let a = f64::from(w.abs());
            if !a.is_finite() {
                continue;
            }
            match pos[r].cmp(&pos[c]) {
                std::cmp::Ordering::Greater => lower += a,
                std::cmp::Ordering::Less => upper += a,
                std::cmp::Ordering::Equal => diag += a,
            }
        }
    }
    (lower, upper, diag)
}

/// Whether a snapshot's `order` lists receivers before their senders (the spec formula's reading:
/// the permuted block is nearly upper-triangular and information flows from the end of the list to
/// its start) rather than in the direction of flow (what `analysis::orderedness` reports). Read off
/// the weights, so either convention is drawn the right way round.
pub fn receivers_first(s: &LayerSnapshot) -> bool {
    let n = s.hidden + s.outputs;
    let (lower, upper, _) = triangle_masses(&s.weights, n, n + s.inputs, &s.order);
    lower <= upper
}

/// One run's metrics (MSE, D, sparsity per epoch) and the snapshots of its layer.
///
/// Snapshots are kept in step order (one whose step goes backwards is dropped). When
/// [`MAX_SNAPSHOTS`] are held, every other one but the newest is dropped, so a long run keeps its
/// recent past dense and its distant past sparse, within a fixed memory.
#[derive(Clone, Debug, Default)]
pub struct OrderingHistory {
    run: Option<RunId>,
    metrics: RunHistory,
    config: Option<OrderingConfig>,
    param_count: Option<u64>,
    steps_per_epoch: Option<u64>,
    snapshots: Vec<LayerSnapshot>,
    rejected_snapshots: usize,
    last_rejection: Option<String>,
    outcome: Option<Outcome>,
    summary: Option<Summary>,
    cap: usize,
}

impl OrderingHistory {
    pub fn new() -> Self {
        Self::with_capacity(MAX_SNAPSHOTS)
    }

    /// A history that keeps at most `cap` snapshots (at least 2).
    pub fn with_capacity(cap: usize) -> Self {
        Self {
            cap: cap.max(2),
            ..Self::default()
        }
    }

    /// Forget everything (a new run, or a reset).
    pub fn clear(&mut self) {
        let cap = self.cap;
        let mut metrics = std::mem::take(&mut self.metrics);
        metrics.clear();
        *self = Self {
            metrics,
            cap,
            ..Self::default()
        };
    }

    /// Start recording a new run.
    pub fn begin(
        &mut self,
        run: RunId,
        config: OrderingConfig,
        param_count: u64,
        steps_per_epoch: u64,
    ) {
        self.clear();
        self.run = Some(run);
        self.config = Some(config);
        self.param_count = Some(param_count);
        self.steps_per_epoch = Some(steps_per_epoch);
    }

    pub fn push_rows(&mut self, rows: &[MetricRow]) {
        self.metrics.push_rows(rows);
    }

    /// Keep a snapshot if it is well formed and not older than the newest kept. Returns whether kept.
    pub fn push_snapshot(&mut self, s: LayerSnapshot) -> bool {
        if let Err(why) = check_snapshot(&s) {
            self.reject(why);
            return false;
        }
        if self.snapshots.last().is_some_and(|last| s.step < last.step) {
            self.reject(format!(
                "snapshot of step {} arrived after a later one",
                s.step
            ));
            return false;
        }
        if self.snapshots.len() >= self.cap {
            self.thin();
        }
        self.snapshots.push(s);
        true
    }

    fn reject(&mut self, why: String) {
        self.rejected_snapshots += 1;
        self.last_rejection = Some(why);
    }

    /// Drop every other snapshot except the newest.
    fn thin(&mut self) {
        let last = self.snapshots.len().saturating_sub(1);
        let mut i = 0;
        self.snapshots.retain(|_| {
            let keep = i % 2 == 0 || i == last;
            i += 1;
            keep
        });
    }

    pub fn finish(&mut self, outcome: Outcome, summary: Option<Summary>) {
        self.outcome = Some(outcome);
        self.summary = summary;
    }

    /// The metric series, markers and step counters (shared with the Grokking lab's plots).
    pub fn metrics(&self) -> &RunHistory {
        &self.metrics
    }

    /// Record a marker (a live change) on the timeline.
    pub fn add_marker(&mut self, marker: super::Marker) {
        self.metrics.add_marker(marker);
    }

    pub fn snapshots(&self) -> &[LayerSnapshot] {
        &self.snapshots
    }

    pub fn latest_snapshot(&self) -> Option<&LayerSnapshot> {
        self.snapshots.last()
    }

    /// Snapshots refused (malformed or out of order) and the reason for the last one.
    pub fn rejected_snapshots(&self) -> (usize, Option<&str>) {
        (self.rejected_snapshots, self.last_rejection.as_deref())
    }

    pub fn run(&self) -> Option<RunId> {
        self.run
    }

    pub fn config(&self) -> Option<&OrderingConfig> {
        self.config.as_ref()
    }

    pub fn param_count(&self) -> Option<u64> {
        self.param_count
    }

    pub fn steps_per_epoch(&self) -> Option<u64> {
        self.steps_per_epoch
    }

    pub fn outcome(&self) -> Option<&Outcome> {
        self.outcome.as_ref()
    }

    pub fn summary(&self) -> Option<&Summary> {
        self.summary.as_ref()
    }

    /// Step and epoch of the newest metric row or snapshot.
    pub fn latest(&self) -> Option<(u64, u64)> {
        let snap = self.snapshots.last().map(|s| (s.step, s.epoch));
        match (self.metrics.latest(), snap) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }

    /// Whether anything of a run is held.
    pub fn has_data(&self) -> bool {
        self.latest().is_some()
    }
}

/// Sparsities are reals: settings whose sparsities agree to 1e-6 are one setting.
fn sparsity_key(s: f64) -> i64 {
    if s.is_finite() {
        (s * 1e6).round() as i64
    } else {
        i64::MIN
    }
}

/// What identifies a setting of a study: the runs of one setting differ only in their seed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Setting {
    pub scheme: Scheme,
    pub sparsity: f64,
    pub hidden: usize,
    pub its: usize,
}

/// D over the runs of one setting.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SettingStats {
    pub setting: Setting,
    /// Runs with a finite D.
    pub runs: usize,
    /// Runs whose D was not finite (left out of the statistics).
    pub bad: usize,
    /// Runs whose D came from the heuristic (an upper bound on the true D's complement).
    pub heuristic: usize,
    pub mean: f64,
    pub min: f64,
    pub max: f64,
    /// Mean final loss over the same runs as D.
    pub mean_loss: f64,
    /// Mean D of the same runs' final weights shuffled (the orderedness their sparsity alone
    /// gives), over the `null_runs` of them that have one; `None` with none.
    pub null_mean: Option<f64>,
    pub null_runs: usize,
    /// The running sum of the nulls until `done`.
    null_sum: f64,
}

impl SettingStats {
    fn empty(setting: Setting) -> Self {
        Self {
            setting,
            runs: 0,
            bad: 0,
            heuristic: 0,
            // the running sum until `done`
            mean: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            mean_loss: 0.0,
            null_mean: None,
            null_runs: 0,
            null_sum: 0.0,
        }
    }

    fn add(&mut self, r: &StudyRow) {
        if !r.d.is_finite() {
            self.bad += 1;
            return;
        }
        match r.method {
            OrderMethod::Heuristic => self.heuristic += 1,
            OrderMethod::Exact => {}
        }
        self.runs += 1;
        self.mean += r.d;
        self.mean_loss += r.final_loss;
        self.min = self.min.min(r.d);
        self.max = self.max.max(r.d);
        if let Some(v) = r.d_null.filter(|v| v.is_finite()) {
            self.null_sum += v;
            self.null_runs += 1;
        }
    }

    fn done(mut self) -> Self {
        if self.runs == 0 {
            (self.mean, self.min, self.max) = (f64::NAN, f64::NAN, f64::NAN);
            self.mean_loss = f64::NAN;
        } else {
            self.mean /= self.runs as f64;
            self.mean_loss /= self.runs as f64;
        }
        self.null_mean = (self.null_runs > 0).then(|| self.null_sum / self.null_runs as f64);
        self
    }
}

fn setting_of(r: &StudyRow) -> Setting {
    Setting {
        scheme: r.scheme,
        sparsity: r.sparsity,
        hidden: r.hidden,
        its: r.its,
    }
}

/// Orders settings: scheme, then sparsity, hidden size and iterations.
type SettingKey = (Scheme, i64, usize, usize);

fn key_of(r: &StudyRow) -> SettingKey {
    (r.scheme, sparsity_key(r.sparsity), r.hidden, r.its)
}

/// Running sums of D per setting, added to one row at a time.
#[derive(Clone, Debug, Default)]
struct Accumulator {
    groups: BTreeMap<SettingKey, SettingStats>,
}

impl Accumulator {
    fn add(&mut self, r: &StudyRow) {
        self.groups
            .entry(key_of(r))
            .or_insert_with(|| SettingStats::empty(setting_of(r)))
            .add(r);
    }

    fn stats(&self) -> Vec<SettingStats> {
        self.groups
            .values()
            .copied()
            .map(SettingStats::done)
            .collect()
    }
}

/// Mean, min and max of D (and the mean final loss) per setting, ordered by scheme, then sparsity,
/// hidden size and iterations: the one study aggregate, which `grokscope ordering` prints, the window
/// shows and the figures draw. Runs with a non-finite D are counted in `bad` and left out of the
/// statistics; settings whose runs all have one are kept with `runs == 0` and NaN statistics.
pub fn aggregate(rows: &[StudyRow]) -> Vec<SettingStats> {
    let mut acc = Accumulator::default();
    rows.iter().for_each(|r| acc.add(r));
    acc.stats()
}

/// A study's finished runs, as they arrive, with their aggregates kept up to date.
#[derive(Clone, Debug, Default)]
pub struct StudyHistory {
    run: Option<RunId>,
    config: Option<OrderingStudyConfig>,
    rows: Vec<StudyRow>,
    /// Kept up to date one row at a time (a study may hold 10^5 runs).
    acc: Accumulator,
    stats: Vec<SettingStats>,
    /// Running sums over the unpruned runs.
    baseline: Option<SettingStats>,
    done: usize,
    total: usize,
    outcome: Option<Outcome>,
}

impl StudyHistory {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn clear(&mut self) {
        *self = Self::default();
    }

    pub fn begin(&mut self, run: RunId, config: OrderingStudyConfig) {
        self.clear();
        self.run = Some(run);
        self.config = Some(config);
    }

    /// Add one finished run (`done` of `total` finished so far). O(settings), not O(runs).
    pub fn push(&mut self, row: StudyRow, done: usize, total: usize) {
        self.acc.add(&row);
        self.stats = self.acc.stats();
        if row.scheme == Scheme::None {
            self.baseline
                .get_or_insert_with(|| SettingStats::empty(setting_of(&row)))
                .add(&row);
        }
        self.rows.push(row);
        self.done = done.max(self.done);
        self.total = total.max(self.done);
    }

    pub fn finish(&mut self, outcome: Outcome) {
        self.outcome = Some(outcome);
    }

    pub fn rows(&self) -> &[StudyRow] {
        &self.rows
    }

    /// Per-setting statistics (see [`aggregate`]).
    pub fn stats(&self) -> &[SettingStats] {
        &self.stats
    }

    /// The settings of one scheme, by increasing sparsity.
    pub fn curve(&self, scheme: Scheme) -> impl Iterator<Item = &SettingStats> {
        self.stats
            .iter()
            .filter(move |s| s.setting.scheme == scheme)
    }

    /// The unpruned runs pooled over their settings (the sparsity study has exactly one; the grid
    /// study's are named after the first).
    pub fn baseline(&self) -> Option<SettingStats> {
        self.baseline.map(SettingStats::done)
    }

    /// The unpruned setting of hidden size `hidden` and `its` iterations (the grid study's cells).
    pub fn cell(&self, hidden: usize, its: usize) -> Option<&SettingStats> {
        self.stats.iter().find(|s| {
            s.setting.scheme == Scheme::None && s.setting.hidden == hidden && s.setting.its == its
        })
    }

    pub fn run(&self) -> Option<RunId> {
        self.run
    }

    pub fn config(&self) -> Option<&OrderingStudyConfig> {
        self.config.as_ref()
    }

    /// Runs finished and runs in all.
    pub fn progress(&self) -> (usize, usize) {
        (self.done, self.total)
    }

    pub fn outcome(&self) -> Option<&Outcome> {
        self.outcome.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Metric;

    /// A 2-neuron layer (1 output, 1 hidden) with one input; rows are receivers, columns senders.
    fn snap(step: u64, weights: [f32; 6], order: [usize; 2]) -> LayerSnapshot {
        LayerSnapshot {
            step,
            epoch: step,
            inputs: 1,
            hidden: 1,
            outputs: 1,
            weights: weights.to_vec(),
            pruned: vec![false; 6],
            order: order.to_vec(),
            d: 1.0,
            method: OrderMethod::Exact,
            sparsity: 0.0,
        }
    }

    fn row(scheme: Scheme, sparsity: f64, d: f64, seed: u64) -> StudyRow {
        StudyRow {
            scheme,
            param: sparsity,
            sparsity,
            hidden: 8,
            its: 3,
            seed,
            d,
            method: OrderMethod::Exact,
            final_loss: 0.01,
            d_null: None,
        }
    }

    #[test]
    fn malformed_snapshots_are_refused_and_counted() {
        let mut h = OrderingHistory::new();
        let mut bad = snap(1, [0.0; 6], [0, 1]);
        bad.weights.pop();
        assert!(!h.push_snapshot(bad));
        assert!(!h.push_snapshot(snap(1, [0.0; 6], [1, 1])));
        let mut bad = snap(1, [0.0; 6], [0, 1]);
        bad.order = vec![0, 2];
        assert!(!h.push_snapshot(bad));
        let mut bad = snap(1, [0.0; 6], [0, 1]);
        bad.hidden = usize::MAX;
        assert!(!h.push_snapshot(bad));
        assert!(h.push_snapshot(snap(5, [0.0; 6], [1, 0])));
        // older than the newest kept
        assert!(!h.push_snapshot(snap(4, [0.0; 6], [1, 0])));
        assert_eq!(h.snapshots().len(), 1);
        assert_eq!(h.rejected_snapshots().0, 5);
    }

    #[test]
    fn a_full_history_thins_its_past_and_keeps_the_newest() {
        let mut h = OrderingHistory::with_capacity(8);
        for step in 0..8 {
            h.push_snapshot(snap(step, [0.0; 6], [0, 1]));
        }
        // the ninth push halves the eight: steps 0, 2, 4, 6 and the newest (7) stay, then 8 joins
        h.push_snapshot(snap(8, [0.0; 6], [0, 1]));
        let steps: Vec<u64> = h.snapshots().iter().map(|s| s.step).collect();
        assert_eq!(steps, [0, 2, 4, 6, 7, 8]);
        for step in 9..100 {
            h.push_snapshot(snap(step, [0.0; 6], [0, 1]));
            assert!(h.snapshots().len() <= 8);
        }
        assert_eq!(h.latest_snapshot().map(|s| s.step), Some(99));
        assert_eq!(h.snapshots()[0].step, 0);
    }

    #[test]
    fn metrics_and_snapshots_set_the_latest_step() {
        let mut h = OrderingHistory::new();
        assert!(!h.has_data());
        h.push_rows(&[MetricRow {
            step: 3,
            epoch: 3,
            values: vec![(Metric::Orderedness, 0.7)],
        }]);
        assert_eq!(h.latest(), Some((3, 3)));
        h.push_snapshot(snap(4, [0.0; 6], [0, 1]));
        assert_eq!(h.latest(), Some((4, 4)));
        assert_eq!(h.metrics().series(Metric::Orderedness).len(), 1);
        let g = h.metrics().generation();
        h.clear();
        assert!(!h.has_data());
        assert!(h.snapshots().is_empty());
        assert_ne!(h.metrics().generation(), g, "plot caches see the clear");
    }

    #[test]
    fn triangle_masses_of_a_two_neuron_layer() {
        // W (receivers 0, 1; senders 0, 1, input):
        //   row 0: [0.5, 2, 9]    neuron 0 gets 2 from neuron 1
        //   row 1: [-1, 0.25, 9]  neuron 1 gets -1 from neuron 0
        let w = [0.5, 2.0, 9.0, -1.0, 0.25, 9.0];
        // order [0, 1]: the entry (0 <- 1) has receiver before sender (upper, 2), (1 <- 0) after (lower, 1)
        assert_eq!(triangle_masses(&w, 2, 3, &[0, 1]), (1.0, 2.0, 0.75));
        assert_eq!(triangle_masses(&w, 2, 3, &[1, 0]), (2.0, 1.0, 0.75));
        // the lighter triangle below: receivers listed first
        assert!(receivers_first(&snap(0, w, [0, 1])));
        assert!(!receivers_first(&snap(0, w, [1, 0])));
    }

    #[test]
    fn aggregate_gives_mean_min_max_per_setting() {
        let rows = [
            row(Scheme::Random, 0.5, 0.7, 0),
            row(Scheme::TopK, 0.5, 0.9, 0),
            row(Scheme::Random, 0.5, 0.8, 1),
            row(Scheme::Random, 0.1, 0.6, 0),
            // the same sparsity written another way is the same setting
            row(Scheme::Random, 0.5 + 1e-12, 0.9, 2),
            row(Scheme::Random, 0.1, f64::NAN, 1),
        ];
        let s = aggregate(&rows);
        assert_eq!(s.len(), 3);
        // ordered by scheme (random before top-k), then sparsity
        assert_eq!(s[0].setting.scheme, Scheme::Random);
        assert_eq!(s[0].setting.sparsity, 0.1);
        assert_eq!((s[0].runs, s[0].bad), (1, 1));
        assert_eq!((s[0].mean, s[0].min, s[0].max), (0.6, 0.6, 0.6));
        // (0.7 + 0.8 + 0.9) / 3 = 0.8
        assert_eq!(s[1].runs, 3);
        assert!((s[1].mean - 0.8).abs() < 1e-12);
        assert_eq!((s[1].min, s[1].max), (0.7, 0.9));
        assert_eq!(s[2].setting.scheme, Scheme::TopK);
        assert_eq!(s[2].mean, 0.9);
        let all_bad = aggregate(&[row(Scheme::TopK, 0.2, f64::INFINITY, 0)]);
        assert_eq!(all_bad[0].runs, 0);
        assert!(all_bad[0].mean.is_nan());
        // the shuffled null: the mean over the runs that have one (by hand: (0.75 + 0.85) / 2); a
        // setting without any has NaN, and a run left out of D is left out of it too
        assert_eq!((s[1].null_runs, s[1].null_mean), (0, None));
        let with = |d, null, seed| StudyRow {
            d_null: Some(null),
            ..row(Scheme::Random, 0.5, d, seed)
        };
        let s = aggregate(&[
            with(0.7, 0.75, 0),
            with(0.8, 0.85, 1),
            row(Scheme::Random, 0.5, 0.9, 2),
            with(f64::NAN, 0.1, 3),
        ]);
        assert_eq!((s[0].runs, s[0].null_runs), (3, 2));
        assert!(
            (s[0].null_mean.unwrap() - 0.8).abs() < 1e-12,
            "{:?}",
            s[0].null_mean
        );
    }

    #[test]
    fn study_curves_baseline_and_grid_cells() {
        let mut st = StudyHistory::new();
        st.push(row(Scheme::None, 0.0, 0.6, 0), 1, 5);
        st.push(row(Scheme::TopK, 0.3, 0.8, 0), 2, 5);
        st.push(row(Scheme::TopK, 0.1, 0.7, 0), 3, 5);
        st.push(row(Scheme::None, 0.0, 0.7, 1), 4, 5);
        assert_eq!(st.progress(), (4, 5));
        // kept incrementally: the same as aggregating all rows at once
        assert_eq!(st.stats(), aggregate(st.rows()).as_slice());
        let sp: Vec<f64> = st.curve(Scheme::TopK).map(|s| s.setting.sparsity).collect();
        assert_eq!(sp, [0.1, 0.3]);
        let b = st.baseline().unwrap();
        assert_eq!(b.runs, 2);
        assert!((b.mean - 0.65).abs() < 1e-12);
        assert_eq!((b.min, b.max), (0.6, 0.7));
        assert_eq!(st.cell(8, 3).map(|c| c.runs), Some(2));
        assert!(st.cell(9, 3).is_none());
        // the grid study: unpruned runs over sizes; the baseline pools them
        let mut grid = StudyHistory::new();
        let mut r = row(Scheme::None, 0.0, 0.5, 0);
        grid.push(r.clone(), 1, 2);
        r.hidden = 3;
        r.d = 1.0;
        grid.push(r, 2, 2);
        assert_eq!(grid.cell(3, 3).map(|c| c.mean), Some(1.0));
        assert_eq!(grid.baseline().map(|b| (b.runs, b.mean)), Some((2, 0.75)));
    }
}
