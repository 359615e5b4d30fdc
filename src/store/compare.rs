//! Comparing runs: a saved run as a [`RunHistory`], which runs differ only by their seed, and the
//! mean of such a group with its min-max and standard-deviation band.
//!
//! Pure data, no UI: the window's runs list groups and averages through these functions.

use super::history::{Marker, MarkerKind, Point, RunHistory};
use super::run_dir::{RunEvent, RunFolder};
use crate::config::GrokkingConfig;
use crate::protocol::{HyperChange, Metric, MetricRow, RunId};
use std::collections::BTreeMap;

/// Whether two configs are equal in everything but `seed`.
pub fn same_but_seed(a: &GrokkingConfig, b: &GrokkingConfig) -> bool {
    let mut b = b.clone();
    b.seed = a.seed;
    *a == b
}

/// What a run was trained with, for grouping seeds: its config, the hyper-parameters changed while
/// it trained (step, change) and the step it was forked at, if it is a fork.
#[derive(Clone, Copy, Debug, Default)]
pub struct Treatment<'a> {
    pub config: Option<&'a GrokkingConfig>,
    pub changes: &'a [(u64, HyperChange)],
    pub fork_step: Option<u64>,
}

impl Treatment<'_> {
    /// Whether `self` and `other` are the same treatment but for the seed: equal configs but the
    /// seed, the same changes at the same steps, forked (or not) at the same step.
    fn same_but_seed(&self, other: &Treatment<'_>) -> bool {
        match (self.config, other.config) {
            (Some(a), Some(b)) => {
                same_but_seed(a, b)
                    && self.changes == other.changes
                    && self.fork_step == other.fork_step
            }
            _ => false,
        }
    }
}

/// Groups of runs that had the same treatment but for the seed ([`Treatment`]), as indices into
/// `runs`, each group in input order and the groups in the order of their first run: a seed band
/// estimates the spread across seeds of one treatment, so a run whose weight decay changed mid-run,
/// or a fork, never joins the runs it was not trained like (a helper's audit: a run with weight decay
/// changed at step 90 was averaged with plain ones). A run without a config (an unreadable
/// config.toml) is a group of its own: nothing says what it could be averaged with; so is a run that
/// repeats a seed of its group (the same numbers again, which would count that seed twice).
pub fn group_by_seed(runs: &[Treatment<'_>]) -> Vec<Vec<usize>> {
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (i, run) in runs.iter().enumerate() {
        let home = groups.iter().position(|g| run.same_but_seed(&runs[g[0]]));
        let repeat = home.is_some_and(|g| {
            groups[g]
                .iter()
                .any(|&j| runs[j].config.map(|c| c.seed) == run.config.map(|c| c.seed))
        });
        match home {
            Some(g) if !repeat => groups[g].push(i),
            _ => groups.push(vec![i]),
        }
    }
    groups
}

/// A group's summary at one step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BandPoint {
    pub step: u64,
    /// The epoch the first run logged at this step (runs of one group share their epoch grid).
    pub epoch: u64,
    pub mean: f64,
    pub min: f64,
    pub max: f64,
    /// Sample standard deviation (divisor n - 1); 0 for a single run.
    pub std: f64,
}

/// The mean, min, max and standard deviation across `series` at each step.
///
/// Steps are aligned by keeping only the steps every series logged (their intersection): runs that
/// differ only by seed log on the same grid, and where one stopped earlier (early stop, a stopped
/// run) the group ends with it, so no point averages fewer runs than the others. A step at which any
/// run's value is not finite is left out. Each series must be in increasing step order (as
/// [`RunHistory`] keeps them); an empty input gives an empty result.
pub fn mean_band(series: &[&[Point]]) -> Vec<BandPoint> {
    let Some((first, rest)) = series.split_first() else {
        return Vec::new();
    };
    // one cursor per other series: all advance monotonically, so the whole pass is linear
    let mut cursors = vec![0usize; rest.len()];
    let mut values = Vec::with_capacity(series.len());
    let mut out = Vec::new();
    'steps: for p in first.iter() {
        values.clear();
        values.push(p.value);
        for (s, cur) in rest.iter().zip(cursors.iter_mut()) {
            while *cur < s.len() && s[*cur].step < p.step {
                *cur += 1;
            }
            match s.get(*cur) {
                Some(q) if q.step == p.step => values.push(q.value),
                Some(_) => continue 'steps,
                None => break 'steps,
            }
        }
        if values.iter().any(|v| !v.is_finite()) {
            continue;
        }
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let std = if values.len() > 1 {
            (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
        } else {
            0.0
        };
        out.push(BandPoint {
            step: p.step,
            epoch: p.epoch,
            mean,
            min,
            max,
            std,
        });
    }
    out
}

/// The markers of a saved run (milestones and hyper-parameter changes), in file order.
pub fn folder_markers(events: &[RunEvent]) -> Vec<Marker> {
    events
        .iter()
        .filter_map(|e| match e {
            RunEvent::Detected {
                what,
                step,
                epoch,
                inherited: false,
            } => Some(Marker {
                step: *step,
                epoch: *epoch,
                kind: MarkerKind::Grok(*what),
            }),
            RunEvent::Changed {
                change,
                step,
                epoch,
            } => Some(Marker {
                step: *step,
                epoch: *epoch,
                kind: MarkerKind::Change(*change),
            }),
            // a fork's inherited milestones are drawn with its parent, where they happened
            RunEvent::Detected {
                inherited: true, ..
            }
            | RunEvent::Forked { .. }
            | RunEvent::Started { .. }
            | RunEvent::Finished { .. } => None,
        })
        .collect()
}

/// What a saved run holds, as the plots draw it: its rows and markers up to `until` (all of them
/// with `None`), its config and size where readable. `run` is the id the window gives it.
pub fn folder_history(folder: &RunFolder, run: RunId, until: Option<u64>) -> RunHistory {
    let mut h = RunHistory::new();
    if let Some(cfg) = &folder.config {
        let param_count = folder.info.as_ref().map_or(0, |i| i.param_count);
        let steps_per_epoch = cfg.steps_per_epoch();
        h.begin(run, cfg.clone(), param_count, steps_per_epoch);
    }
    let keep = |step: u64| until.is_none_or(|u| step <= u);
    let rows: Vec<_> = folder
        .rows
        .iter()
        .filter(|r| keep(r.step))
        .cloned()
        .collect();
    h.push_rows(&rows);
    for m in folder_markers(&folder.events) {
        if keep(m.step) {
            h.add_marker(m);
        }
    }
    h
}

/// A history's logged values as metric rows again (one per logged step, in step order), for a
/// resumed run's rows from before its checkpoint.
pub fn history_rows(h: &RunHistory) -> Vec<MetricRow> {
    let mut rows: BTreeMap<u64, MetricRow> = BTreeMap::new();
    for m in Metric::ALL.into_iter().filter(|m| m.logged()) {
        for p in h.series(m) {
            rows.entry(p.step)
                .or_insert_with(|| MetricRow {
                    step: p.step,
                    epoch: p.epoch,
                    values: Vec::new(),
                })
                .values
                .push((m, p.value));
        }
    }
    rows.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::presets;

    fn pts(v: &[(u64, f64)]) -> Vec<Point> {
        v.iter()
            .map(|&(step, value)| Point {
                step,
                epoch: step,
                value,
            })
            .collect()
    }

    #[test]
    fn only_the_seed_may_differ_within_a_group() {
        let a = presets()[0].config.clone();
        let mut b = a.clone();
        b.seed = a.seed + 1;
        let mut c = a.clone();
        c.optim.weight_decay += 0.5;
        let mut d = c.clone();
        d.seed = 7;
        assert!(same_but_seed(&a, &b));
        assert!(!same_but_seed(&a, &c));
        // a, b share everything but the seed; c, d likewise; the config-less run stands alone
        let plain = |c| Treatment {
            config: Some(c),
            ..Treatment::default()
        };
        let groups = group_by_seed(&[
            plain(&a),
            plain(&c),
            Treatment::default(),
            plain(&b),
            plain(&d),
        ]);
        assert_eq!(groups, vec![vec![0, 3], vec![1, 4], vec![2]]);
    }

    /// A seed band is one treatment's: a run whose weight decay changed mid-run, one changed at
    /// another step, a fork and a run repeating a seed each stand alone; runs changed alike at the
    /// same step group. Expected: the groups written out from [`group_by_seed`]'s rule.
    #[test]
    fn runs_changed_mid_run_forks_and_repeated_seeds_are_not_averaged_with_others() {
        let a = presets()[0].config.clone();
        let seeded = |seed| {
            let mut c = a.clone();
            c.seed = seed;
            c
        };
        let (s0, s1, s2) = (seeded(0), seeded(1), seeded(2));
        let wd3_at_90 = [(90, HyperChange::WeightDecay(3.0))];
        let wd3_at_91 = [(91, HyperChange::WeightDecay(3.0))];
        let runs = [
            Treatment {
                config: Some(&s0),
                ..Treatment::default()
            },
            Treatment {
                config: Some(&s0),
                changes: &wd3_at_90,
                fork_step: None,
            },
            Treatment {
                config: Some(&s1),
                ..Treatment::default()
            },
            Treatment {
                config: Some(&s1),
                changes: &wd3_at_90,
                fork_step: None,
            },
            Treatment {
                config: Some(&s2),
                changes: &wd3_at_91,
                fork_step: None,
            },
            Treatment {
                config: Some(&s2),
                changes: &[],
                fork_step: Some(90),
            },
            // seed 0 again, plainly: the same run as the first
            Treatment {
                config: Some(&s0),
                ..Treatment::default()
            },
            Treatment {
                config: Some(&s2),
                ..Treatment::default()
            },
        ];
        assert_eq!(
            group_by_seed(&runs),
            vec![vec![0, 2, 7], vec![1, 3], vec![4], vec![5], vec![6]]
        );
    }

    #[test]
    fn mean_min_max_std_on_the_steps_all_runs_logged() {
        // run a logs steps 1,2,3,4; run b logs 2,3,4,5; run c logs 2,4 (eval every other step)
        let a = pts(&[(1, 1.0), (2, 2.0), (3, 3.0), (4, 4.0)]);
        let b = pts(&[(2, 4.0), (3, 5.0), (4, 8.0), (5, 9.0)]);
        let c = pts(&[(2, 6.0), (4, 0.0)]);
        let band = mean_band(&[&a, &b, &c]);
        // only steps 2 and 4 are in all three
        let steps: Vec<u64> = band.iter().map(|p| p.step).collect();
        assert_eq!(steps, [2, 4]);
        // step 2: values 2, 4, 6: mean 4, min 2, max 6, sample std sqrt((4 + 0 + 4) / 2) = 2
        assert_eq!(
            (band[0].mean, band[0].min, band[0].max, band[0].std),
            (4.0, 2.0, 6.0, 2.0)
        );
        // step 4: values 4, 8, 0: mean 4, min 0, max 8, std sqrt((0 + 16 + 16) / 2) = 4
        assert_eq!(
            (band[1].mean, band[1].min, band[1].max, band[1].std),
            (4.0, 0.0, 8.0, 4.0)
        );
    }

    #[test]
    fn a_single_run_is_its_own_mean_and_non_finite_steps_are_skipped() {
        let a = pts(&[(1, 0.5), (2, f64::NAN), (3, 0.25)]);
        let band = mean_band(&[&a]);
        let got: Vec<(u64, f64, f64)> = band.iter().map(|p| (p.step, p.mean, p.std)).collect();
        assert_eq!(got, [(1, 0.5, 0.0), (3, 0.25, 0.0)]);
        assert!(mean_band(&[]).is_empty());
        // a shorter run ends the group
        let b = pts(&[(1, 1.5)]);
        let band = mean_band(&[&a, &b]);
        assert_eq!(band.len(), 1);
        assert_eq!(band[0].mean, 1.0);
    }

    #[test]
    fn rows_come_back_out_of_a_history() {
        let rows = vec![
            MetricRow {
                step: 1,
                epoch: 1,
                values: vec![(Metric::TrainLoss, 2.0)],
            },
            MetricRow {
                step: 2,
                epoch: 2,
                values: vec![(Metric::TrainLoss, 1.0), (Metric::ValAcc, 0.5)],
            },
        ];
        let mut h = RunHistory::new();
        h.push_rows(&rows);
        // the same rows (values in Metric::ALL order, which these already are)
        assert_eq!(history_rows(&h), rows);
    }
}
