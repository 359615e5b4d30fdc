//! Grokking events as the spec defines them, detected live from per-epoch accuracies.
//!
//! t_train: first epoch with train accuracy >= 99 %; t_val: first epoch with validation accuracy >= 99 %;
//! delay = max(0, t_val98 - t_train), or epochs run - t_train when validation never reaches 98 %.

/// Accuracy threshold for memorisation and generalisation.
pub const THRESHOLD: f64 = 0.99;
/// Validation threshold used for the delay.
pub const DELAY_THRESHOLD: f64 = 0.98;

/// Whether a run's `delay` is only a lower bound: it learned its training set (at `t_train`), never
/// generalised (`t_val` at 99 % is none), and its delay is the epochs run − t_train, validation never
/// having reached 98 % either. (Validation reaching 98 % at the very last epoch gives the same number;
/// it reads as a lower bound too.)
pub fn delay_is_lower_bound(
    t_train: Option<u64>,
    t_val: Option<u64>,
    delay: Option<u64>,
    epochs_run: u64,
) -> bool {
    match (t_train, t_val, delay) {
        (Some(tt), None, Some(d)) => d == epochs_run.saturating_sub(tt),
        _ => false,
    }
}

/// A milestone of a grokking run.
#[derive(serde::Serialize, serde::Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum GrokEvent {
    /// Running train accuracy first reached 99 % (t_train).
    Memorised,
    /// Validation accuracy first reached 98 % (the delay's threshold).
    Val98,
    /// Validation accuracy first reached 99 % (t_val, the paper's T_gen).
    Generalised,
}

impl std::fmt::Display for GrokEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            GrokEvent::Memorised => "memorised (train ≥ 99 %)",
            GrokEvent::Val98 => "validation ≥ 98 %",
            GrokEvent::Generalised => "generalised (validation ≥ 99 %)",
        })
    }
}

/// Tracks the first epoch at which each threshold was crossed.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GrokDetector {
    pub t_train: Option<u64>,
    pub t_val98: Option<u64>,
    pub t_val: Option<u64>,
}

impl GrokDetector {
    /// Feed the train accuracy of `epoch`; returns the event if it fired now.
    pub fn observe_train(&mut self, epoch: u64, train_acc: f64) -> Option<GrokEvent> {
        if self.t_train.is_none() && train_acc >= THRESHOLD {
            self.t_train = Some(epoch);
            return Some(GrokEvent::Memorised);
        }
        None
    }

    /// Feed the validation accuracy of `epoch`; returns the events that fired now (98 % before 99 %).
    pub fn observe_val(&mut self, epoch: u64, val_acc: f64) -> Vec<GrokEvent> {
        let mut out = vec![];
        if self.t_val98.is_none() && val_acc >= DELAY_THRESHOLD {
            self.t_val98 = Some(epoch);
            out.push(GrokEvent::Val98);
        }
        if self.t_val.is_none() && val_acc >= THRESHOLD {
            self.t_val = Some(epoch);
            out.push(GrokEvent::Generalised);
        }
        out
    }

    /// Both thresholds hold: the early-stop condition.
    pub fn done(&self) -> bool {
        self.t_train.is_some() && self.t_val.is_some()
    }

    /// Generalisation delay in epochs after `epochs_run` epochs: max(0, t_val98 - t_train), or
    /// epochs run - t_train when validation never reached 98 %. A run that reached 98 % validation while
    /// its running train accuracy (dropout on) never reached 99 % has t_train beyond the run, so its
    /// delay is 0. `None` when neither threshold was reached.
    pub fn delay(&self, epochs_run: u64) -> Option<u64> {
        match (self.t_train, self.t_val98) {
            (Some(tt), Some(tv)) => Some(tv.saturating_sub(tt)),
            (Some(tt), None) => Some(epochs_run.saturating_sub(tt)),
            (None, Some(_)) => Some(0),
            (None, None) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feed a synthetic run: train accuracy per epoch and validation accuracy per epoch.
    fn feed(train: &[f64], val: &[f64]) -> (GrokDetector, Vec<(u64, GrokEvent)>) {
        let mut d = GrokDetector::default();
        let mut evs = vec![];
        for (i, (&t, &v)) in train.iter().zip(val).enumerate() {
            let e = i as u64 + 1;
            if let Some(ev) = d.observe_train(e, t) {
                evs.push((e, ev));
            }
            for ev in d.observe_val(e, v) {
                evs.push((e, ev));
            }
        }
        (d, evs)
    }

    #[test]
    fn grokking_curve() {
        // train memorises at epoch 3, validation hits 98 % at epoch 6 and 99 % at epoch 7: delay 6 - 3 = 3
        let train = [0.2, 0.8, 0.99, 1.0, 1.0, 1.0, 1.0];
        let val = [0.01, 0.02, 0.05, 0.3, 0.9, 0.98, 0.995];
        let (d, evs) = feed(&train, &val);
        assert_eq!(
            evs,
            vec![
                (3, GrokEvent::Memorised),
                (6, GrokEvent::Val98),
                (7, GrokEvent::Generalised)
            ]
        );
        assert_eq!(d.delay(7), Some(3));
        assert!(d.done());
    }

    #[test]
    fn immediate_generalisation_has_zero_delay() {
        // validation crosses 98 % at epoch 2, before train crosses 99 % at epoch 3: max(0, 2 - 3) = 0
        let (d, _) = feed(&[0.5, 0.9, 0.995], &[0.5, 0.985, 0.99]);
        assert_eq!(d.delay(3), Some(0));
    }

    #[test]
    fn never_generalising_counts_to_the_end() {
        // memorised at epoch 2, validation stuck: delay = epochs run (10) - 2 = 8
        let (d, _) = feed(&[0.5, 0.999, 1.0], &[0.1, 0.1, 0.1]);
        assert_eq!(d.delay(10), Some(8));
        assert!(!d.done());
    }

    #[test]
    fn never_memorising_has_no_delay() {
        let (d, evs) = feed(&[0.1, 0.2], &[0.1, 0.1]);
        assert_eq!(d.delay(2), None);
        assert!(evs.is_empty());
    }

    #[test]
    fn generalising_without_the_running_train_threshold_has_zero_delay() {
        // validation 98 % at epoch 2, running train accuracy stuck at 97 %: t_train lies beyond the run,
        // so max(0, 2 - t_train) = 0
        let (d, _) = feed(&[0.9, 0.97, 0.97], &[0.5, 0.985, 0.99]);
        assert_eq!(d.t_train, None);
        assert_eq!(d.delay(3), Some(0));
    }

    #[test]
    fn threshold_is_inclusive_and_fires_once() {
        let (_, evs) = feed(&[0.99, 0.5, 0.99], &[0.0, 0.0, 0.0]);
        assert_eq!(evs, vec![(1, GrokEvent::Memorised)]);
    }
}
