//! Timing of orderedness on seeded dense and sparse random matrices: exact at n = 16, 20 and 22, the
//! heuristic at n = 200 and 400, and how close the heuristic comes to the exact minimum at n = 20.
//! `cargo bench --bench orderedness` prints one line per case; nothing is asserted. Needs
//! `harness = false` in its `[[bench]]` entry (with the default test harness `main` never runs).

use grokscope::analysis::orderedness::{OrderError, Ordering, exact, heuristic};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::Instant;

type Solver = fn(&[f64], usize) -> Result<Ordering, OrderError>;

/// Uniform weights in [0, 1), each zero with probability `zeros`.
fn matrix(n: usize, zeros: f64, seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n * n)
        .map(|_| {
            if rng.random_bool(zeros) {
                0.0
            } else {
                rng.random::<f64>()
            }
        })
        .collect()
}

const KINDS: [(&str, f64); 2] = [("dense", 0.0), ("sparse", 0.8)];

fn main() {
    let cases: [(&str, Solver, usize, usize); 5] = [
        ("exact", exact, 16, 10),
        ("exact", exact, 20, 5),
        ("exact", exact, 22, 2),
        ("heuristic", heuristic, 200, 10),
        ("heuristic", heuristic, 400, 3),
    ];
    for (name, solve, n, reps) in cases {
        for (kind, zeros) in KINDS {
            let mut times = Vec::with_capacity(reps);
            let mut d = 0.0;
            for rep in 0..reps {
                let a = matrix(n, zeros, rep as u64);
                let start = Instant::now();
                let r = solve(&a, n).expect("valid matrix");
                times.push(start.elapsed().as_secs_f64() * 1e3);
                d += r.d / reps as f64;
            }
            times.sort_by(f64::total_cmp);
            println!(
                "{name:9} n={n:3} {kind:6}: median {:7.2} ms, max {:7.2} ms of {reps}, mean D {d:.4}",
                times[reps / 2],
                times[reps - 1]
            );
        }
    }
    let (n, reps) = (20, 5);
    for (kind, zeros) in KINDS {
        let (mut matched, mut worst) = (0, 0.0f64);
        for rep in 0..reps {
            let a = matrix(n, zeros, rep as u64);
            let (e, h) = (
                exact(&a, n).expect("valid"),
                heuristic(&a, n).expect("valid"),
            );
            matched += usize::from(h.backward <= e.backward + 1e-12 * e.total);
            worst = worst.max(e.d - h.d);
        }
        println!(
            "heuristic vs exact n={n} {kind:6}: matched {matched}/{reps}, largest D shortfall {worst:.2e}"
        );
    }
}
