//! Small measurements shown in the bars: frame time (with a p99) and training steps per second.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Durations of the last frames' `ui` calls.
#[derive(Debug)]
pub struct FrameTimer {
    samples_ms: VecDeque<f32>,
    capacity: usize,
}

impl Default for FrameTimer {
    fn default() -> Self {
        Self::new(300)
    }
}

impl FrameTimer {
    pub fn new(capacity: usize) -> Self {
        Self {
            samples_ms: VecDeque::with_capacity(capacity),
            capacity: capacity.max(1),
        }
    }

    pub fn record(&mut self, frame: Duration) {
        if self.samples_ms.len() == self.capacity {
            self.samples_ms.pop_front();
        }
        self.samples_ms.push_back(frame.as_secs_f32() * 1000.0);
    }

    /// The newest frame, in ms.
    pub fn last_ms(&self) -> Option<f32> {
        self.samples_ms.back().copied()
    }

    /// 99th percentile (nearest rank) of the kept frames, in ms.
    pub fn p99_ms(&self) -> Option<f32> {
        if self.samples_ms.is_empty() {
            return None;
        }
        let mut sorted: Vec<f32> = self.samples_ms.iter().copied().collect();
        sorted.sort_by(f32::total_cmp);
        let rank = (0.99 * sorted.len() as f64).ceil() as usize;
        sorted.get(rank.saturating_sub(1)).copied()
    }
}

/// Steps per second over a sliding window of (arrival time, step) samples.
#[derive(Debug, Default)]
pub struct StepRate {
    samples: VecDeque<(Instant, u64)>,
}

/// How far back the rate looks.
const RATE_WINDOW: Duration = Duration::from_secs(2);

impl StepRate {
    pub fn clear(&mut self) {
        self.samples.clear();
    }

    pub fn record(&mut self, now: Instant, step: u64) {
        self.samples.push_back((now, step));
        while let Some(&(t, _)) = self.samples.front() {
            if now.duration_since(t) > RATE_WINDOW && self.samples.len() > 2 {
                self.samples.pop_front();
            } else {
                break;
            }
        }
    }

    /// Steps per second, once the window spans a measurable time.
    pub fn per_sec(&self) -> Option<f64> {
        let (&(t0, s0), &(t1, s1)) = (self.samples.front()?, self.samples.back()?);
        let dt = t1.duration_since(t0).as_secs_f64();
        (dt > 0.05).then(|| s1.saturating_sub(s0) as f64 / dt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p99_is_the_nearest_rank() {
        let mut t = FrameTimer::new(100);
        for ms in 1..=100 {
            t.record(Duration::from_millis(ms));
        }
        // 100 samples 1..=100 ms: nearest rank ceil(0.99 * 100) = 99 -> 99 ms
        assert!((t.p99_ms().unwrap() - 99.0).abs() < 1e-3);
        assert!((t.last_ms().unwrap() - 100.0).abs() < 1e-3);
        // the window keeps the newest 100: add 200 ms frames, the oldest drop out
        for _ in 0..5 {
            t.record(Duration::from_millis(200));
        }
        assert!((t.p99_ms().unwrap() - 200.0).abs() < 1e-3);
    }

    #[test]
    fn rate_from_first_and_last_sample() {
        let t0 = Instant::now();
        let mut r = StepRate::default();
        assert_eq!(r.per_sec(), None);
        r.record(t0, 100);
        r.record(t0 + Duration::from_millis(500), 150);
        r.record(t0 + Duration::from_secs(1), 200);
        // 100 steps in 1 s
        assert!((r.per_sec().unwrap() - 100.0).abs() < 1e-9);
    }
}
