//! [`RunHistory`]: what one run has reported so far.

use crate::config::GrokkingConfig;
use crate::protocol::{GrokEvent, HyperChange, Metric, MetricRow, Outcome, RunId, Summary};
use std::collections::BTreeMap;

/// One logged value of one metric.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    /// Optimiser steps taken when the value was logged.
    pub step: u64,
    /// Epochs completed when the value was logged.
    pub epoch: u64,
    pub value: f64,
}

/// What a marker on the timeline stands for.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MarkerKind {
    /// A grokking milestone detected by the run.
    Grok(GrokEvent),
    /// A hyper-parameter changed mid-run.
    Change(HyperChange),
}

/// A vertical marker on the step axis.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Marker {
    pub step: u64,
    pub epoch: u64,
    pub kind: MarkerKind,
}

/// Some metric series copied out of a history (to hand to a writer thread).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SeriesTable {
    /// In the order they were asked for; each series in step order.
    pub series: Vec<(Metric, Vec<Point>)>,
}

impl SeriesTable {
    /// Number of points over all series.
    pub fn len(&self) -> usize {
        self.series.iter().map(|(_, p)| p.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Everything one run has reported, in arrival order.
///
/// Rows are expected in step order; a row whose step is lower than the last one kept is dropped (it
/// would break the sorted-x assumption of [`crate::store::visible_range`]) and counted in
/// [`RunHistory::dropped_rows`].
#[derive(Clone, Debug, Default)]
pub struct RunHistory {
    run: Option<RunId>,
    config: Option<GrokkingConfig>,
    param_count: Option<u64>,
    steps_per_epoch: Option<u64>,
    series: BTreeMap<Metric, Vec<Point>>,
    markers: Vec<Marker>,
    outcome: Option<Outcome>,
    summary: Option<Summary>,
    last_step: u64,
    last_epoch: u64,
    rows: usize,
    dropped_rows: usize,
    /// Bumped whenever the history is cleared or replaced, so caches built from it know to rebuild.
    generation: u64,
}

impl RunHistory {
    pub fn new() -> Self {
        Self::default()
    }

    /// Forget everything (a new run, or a reset); bumps [`Self::generation`].
    pub fn clear(&mut self) {
        let generation = self.generation.wrapping_add(1);
        *self = RunHistory {
            generation,
            ..RunHistory::default()
        };
    }

    /// Start recording a new run (clears what was there).
    pub fn begin(
        &mut self,
        run: RunId,
        config: GrokkingConfig,
        param_count: u64,
        steps_per_epoch: u64,
    ) {
        self.clear();
        self.run = Some(run);
        self.config = Some(config);
        self.param_count = Some(param_count);
        self.steps_per_epoch = Some(steps_per_epoch);
    }

    /// Append a batch of metric rows (oldest first).
    pub fn push_rows(&mut self, rows: &[MetricRow]) {
        for row in rows {
            if self.rows > 0 && row.step < self.last_step {
                self.dropped_rows += 1;
                continue;
            }
            self.rows += 1;
            self.last_step = row.step;
            self.last_epoch = row.epoch;
            for &(metric, value) in &row.values {
                self.series.entry(metric).or_default().push(Point {
                    step: row.step,
                    epoch: row.epoch,
                    value,
                });
            }
        }
    }

    /// Add one point to a series in step order (e.g. a measure recomputed from a checkpoint after the
    /// run's rows arrived), replacing a point at the same step; not counted as a row. A point inside the
    /// series bumps [`Self::generation`] (caches that only append must rebuild).
    pub fn insert_point(&mut self, metric: Metric, point: Point) {
        let series = self.series.entry(metric).or_default();
        let i = series.partition_point(|q| q.step < point.step);
        if series.get(i).is_some_and(|q| q.step == point.step) {
            series[i] = point;
            self.generation = self.generation.wrapping_add(1);
        } else if i == series.len() {
            series.push(point);
        } else {
            series.insert(i, point);
            self.generation = self.generation.wrapping_add(1);
        }
    }

    pub fn add_marker(&mut self, marker: Marker) {
        self.markers.push(marker);
    }

    pub fn finish(&mut self, outcome: Outcome, summary: Option<Summary>) {
        self.outcome = Some(outcome);
        self.summary = summary;
    }

    /// The points of one metric, in step order (empty if never logged).
    pub fn series(&self, metric: Metric) -> &[Point] {
        self.series.get(&metric).map(Vec::as_slice).unwrap_or(&[])
    }

    /// A copy of the named series, in the given order.
    pub fn table(&self, metrics: &[Metric]) -> SeriesTable {
        SeriesTable {
            series: metrics
                .iter()
                .map(|&m| (m, self.series(m).to_vec()))
                .collect(),
        }
    }

    pub fn markers(&self) -> &[Marker] {
        &self.markers
    }

    pub fn run(&self) -> Option<RunId> {
        self.run
    }

    pub fn config(&self) -> Option<&GrokkingConfig> {
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

    /// Step and epoch of the newest row, if any row arrived.
    pub fn latest(&self) -> Option<(u64, u64)> {
        (self.rows > 0).then_some((self.last_step, self.last_epoch))
    }

    /// Metric rows kept so far.
    pub fn row_count(&self) -> usize {
        self.rows
    }

    /// Rows refused because their step went backwards.
    pub fn dropped_rows(&self) -> usize {
        self.dropped_rows
    }

    /// Changes whenever the history is cleared or replaced.
    pub fn generation(&self) -> u64 {
        self.generation
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::presets;

    fn row(step: u64, epoch: u64, values: &[(Metric, f64)]) -> MetricRow {
        MetricRow {
            step,
            epoch,
            values: values.to_vec(),
        }
    }

    #[test]
    fn rows_split_into_series_and_eval_metrics_only_where_logged() {
        let mut h = RunHistory::new();
        h.begin(7, presets()[0].config.clone(), 1234, 1);
        h.push_rows(&[
            row(1, 1, &[(Metric::TrainAcc, 0.1), (Metric::ValAcc, 0.05)]),
            row(2, 2, &[(Metric::TrainAcc, 0.2)]),
            row(3, 3, &[(Metric::TrainAcc, 0.3), (Metric::ValAcc, 0.15)]),
        ]);
        assert_eq!(h.run(), Some(7));
        assert_eq!(h.param_count(), Some(1234));
        assert_eq!(h.latest(), Some((3, 3)));
        let steps: Vec<u64> = h.series(Metric::TrainAcc).iter().map(|p| p.step).collect();
        assert_eq!(steps, [1, 2, 3]);
        let val: Vec<(u64, f64)> = h
            .series(Metric::ValAcc)
            .iter()
            .map(|p| (p.step, p.value))
            .collect();
        assert_eq!(val, [(1, 0.05), (3, 0.15)]);
        assert!(h.series(Metric::WeightNorm).is_empty());
    }

    #[test]
    fn rows_going_backwards_are_dropped() {
        let mut h = RunHistory::new();
        h.push_rows(&[
            row(5, 1, &[(Metric::TrainLoss, 1.0)]),
            row(4, 1, &[(Metric::TrainLoss, 2.0)]),
        ]);
        assert_eq!(h.series(Metric::TrainLoss).len(), 1);
        assert_eq!(h.dropped_rows(), 1);
        assert_eq!(h.latest(), Some((5, 1)));
    }

    #[test]
    fn clear_and_begin_bump_the_generation() {
        let mut h = RunHistory::new();
        let g0 = h.generation();
        h.push_rows(&[row(1, 1, &[(Metric::TrainLoss, 1.0)])]);
        h.clear();
        assert!(h.generation() != g0);
        assert_eq!(h.latest(), None);
        let g1 = h.generation();
        h.begin(1, presets()[0].config.clone(), 1, 1);
        assert!(h.generation() != g1);
    }

    #[test]
    fn table_keeps_the_requested_order() {
        let mut h = RunHistory::new();
        h.push_rows(&[row(
            1,
            1,
            &[(Metric::TrainLoss, 1.0), (Metric::ValLoss, 2.0)],
        )]);
        let t = h.table(&[Metric::ValLoss, Metric::TrainLoss, Metric::WeightNorm]);
        let order: Vec<Metric> = t.series.iter().map(|(m, _)| *m).collect();
        assert_eq!(
            order,
            [Metric::ValLoss, Metric::TrainLoss, Metric::WeightNorm]
        );
        assert_eq!(t.len(), 2);
    }
}
