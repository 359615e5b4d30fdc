//! Issue 13's fuzz test: generated configs, run folders, checkpoints, sweep result files and weight
//! matrices thrown at the parsers and loaders (proptest, 13,000 cases a run, fixed seed so CI is
//! repeatable). Asserts: no panic (proptest fails the case on one), no hang (every case is one bounded
//! call; the whole test runs in well under a minute on 2 cores), and a folder a resume refuses is left
//! byte for byte as it was.
//!
//! `GROKSCOPE_FUZZ_SEED` (a number, 0-255) draws other inputs than CI's, and `GROKSCOPE_FUZZ_TIMES`
//! (a number) runs that many times the cases: for looking further than CI does, by hand.

use grokscope::config::capacity::{Task, sweep_presets};
use grokscope::config::{CapacitySweepConfig, GrokkingConfig, Operation, preset};
use grokscope::store::run_dir::{RunFolder, RunWriter};
use grokscope::store::sweep_dir::load_result;
use grokscope::train::checkpoint::TrainerState;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// A number from the environment variable `name`, if set.
fn from_env(name: &str) -> Option<u32> {
    let text = std::env::var(name).ok()?;
    Some(
        text.parse()
            .unwrap_or_else(|e| panic!("{name}: {text:?} is not a number: {e}")),
    )
}

/// A runner with `cases` cases (times GROKSCOPE_FUZZ_TIMES), a fixed seed (13, or
/// GROKSCOPE_FUZZ_SEED) and no failure files.
fn runner(cases: u32) -> TestRunner {
    let seed = from_env("GROKSCOPE_FUZZ_SEED").map_or(13, |s| {
        u8::try_from(s).unwrap_or_else(|_| panic!("GROKSCOPE_FUZZ_SEED: {s} is over 255"))
    });
    let times = from_env("GROKSCOPE_FUZZ_TIMES").unwrap_or(1);
    let config = Config {
        cases: cases.saturating_mul(times),
        failure_persistence: None,
        max_shrink_iters: 64,
        ..Config::default()
    };
    TestRunner::new_with_rng(
        config,
        TestRng::from_seed(RngAlgorithm::ChaCha, &[seed; 32]),
    )
}

/// Values that broke or nearly broke the parsers on main (issue 13) and their neighbours.
const NASTY: [&str; 16] = [
    "5e-324",
    "1e308",
    "1e309",
    "-0",
    "nan",
    "inf",
    "18446744073709551616",
    "-1",
    "0",
    "1e-310",
    "\"x\"",
    "[]",
    "{}",
    "99999999999999999999999999999",
    "2.5",
    "true",
];

/// One damage: flip a byte, insert bytes, cut, drop a range, swap a number for a nasty value, put a
/// byte-order mark in front, or repeat a line.
#[derive(Clone, Debug)]
struct Damage {
    kind: u8,
    at: usize,
    byte: u8,
    len: usize,
    nasty: usize,
}

fn damage() -> impl Strategy<Value = Damage> {
    (
        0u8..7,
        any::<usize>(),
        any::<u8>(),
        1usize..48,
        0..NASTY.len(),
    )
        .prop_map(|(kind, at, byte, len, nasty)| Damage {
            kind,
            at,
            byte,
            len,
            nasty,
        })
}

fn apply(d: &Damage, bytes: &[u8]) -> Vec<u8> {
    let mut b = bytes.to_vec();
    let n = b.len().max(1);
    let at = d.at % n;
    match d.kind {
        0 if !b.is_empty() => b[at] ^= d.byte | 1,
        1 => {
            let at = at.min(b.len());
            b.splice(at..at, std::iter::repeat_n(d.byte, d.len));
        }
        2 => b.truncate(at),
        3 => {
            let end = (at + d.len).min(b.len());
            b.drain(at.min(end)..end);
        }
        4 => {
            // the number that starts at or after `at`, replaced
            if let Some(start) = b[at.min(b.len())..]
                .iter()
                .position(u8::is_ascii_digit)
                .map(|i| i + at)
            {
                let end = b[start..]
                    .iter()
                    .position(|c| !(c.is_ascii_digit() || b".e-+".contains(c)))
                    .map_or(b.len(), |i| i + start);
                b.splice(start..end, NASTY[d.nasty].bytes());
            };
        }
        5 => {
            b.splice(0..0, *b"\xef\xbb\xbf");
        }
        _ => {
            let text = String::from_utf8_lossy(&b).to_string();
            let lines: Vec<&str> = text.lines().collect();
            if !lines.is_empty() {
                let i = at % lines.len();
                let mut out = lines.clone();
                out.insert(i, lines[i]);
                b = (out.join("\n") + "\n").into_bytes();
            }
        }
    }
    b
}

fn tiny() -> GrokkingConfig {
    let mut c = preset("fast-mlp").unwrap().config;
    c.op = Operation::Add;
    c.p = 7;
    c.train_fraction = 0.6;
    c.full_batch = false;
    c.batch_size = 8;
    c.max_epochs = 4;
    c.early_stop = false;
    if let grokscope::config::ModelConfig::Mlp(m) = &mut c.model {
        m.embed_dim = 4;
        m.hidden = 8;
    }
    c
}

/// A trained run folder with checkpoints at epochs 0, 2 and 4, made once for all cases.
fn template() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        // kept for the test process's life: every case copies from it
        let dir = tempfile::tempdir().unwrap().keep().join("run");
        crate::runs::fresh(&tiny(), &dir, Some(4), 2);
        dir
    })
}

#[test]
fn generated_inputs_never_panic_hang_or_change_a_refused_folder() {
    let t0 = std::time::Instant::now();
    let mut cases = 0u32;

    // 1. Grokking configs (4,000) and sweep configs (2,000) as damaged TOML
    let cfg_text = tiny().to_toml();
    let n = 4000;
    runner(n)
        .run(&damage(), |d| {
            let text = String::from_utf8_lossy(&apply(&d, cfg_text.as_bytes())).to_string();
            if let Ok(valid) = GrokkingConfig::from_toml(&text) {
                // a valid config always has a finite, non-wrapping estimate
                let e = valid.memory_estimate();
                prop_assert!(e.total() >= e.params);
            }
            Ok(())
        })
        .unwrap();
    cases += n;
    let sweep_text = sweep_presets()[0].config.to_toml();
    let n = 2000;
    runner(n)
        .run(&damage(), |d| {
            let text = String::from_utf8_lossy(&apply(&d, sweep_text.as_bytes())).to_string();
            if let Ok(c) = CapacitySweepConfig::from_toml(&text) {
                let _ = c.largest_task().memory_estimate();
            }
            Ok(())
        })
        .unwrap();
    cases += n;

    // 2. run folders (1,500): one file damaged; open never panics, a damaged folder's resume is
    // refused and leaves it byte for byte
    let base = template();
    let work = tempfile::tempdir().unwrap();
    let files = ["metrics.csv", "events.jsonl", "run.json", "config.toml"];
    let n = 1500;
    let k = std::cell::Cell::new(0usize);
    runner(n)
        .run(&(damage(), 0..files.len()), |(d, which)| {
            k.set(k.get() + 1);
            let dir = work.path().join(format!("case{}", k.get()));
            crate::hardening::copy_dir(base, &dir);
            let file = dir.join(files[which]);
            let bytes = std::fs::read(&file).unwrap();
            std::fs::write(&file, apply(&d, &bytes)).unwrap();
            let before = crate::hardening::snapshot(&dir);
            if let Ok(folder) = RunFolder::open(&dir)
                && !folder.damaged.is_empty()
                && let Some(c) = folder.checkpoints.last()
            {
                prop_assert!(RunWriter::resume(&folder, c).is_err());
                prop_assert_eq!(&crate::hardening::snapshot(&dir), &before);
            }
            std::fs::remove_dir_all(&dir).unwrap();
            Ok(())
        })
        .unwrap();
    cases += n;

    // 3. checkpoints (3,000): damaged bytes decode to an error or to a state, never a panic; a
    // decoded state makes a trainer or an error
    let folder = RunFolder::open(base).unwrap();
    let ckpt = std::fs::read(&folder.checkpoints.last().unwrap().path).unwrap();
    let n = 3000;
    runner(n)
        .run(&damage(), |d| {
            if let Ok(state) = TrainerState::from_bytes(&apply(&d, &ckpt)) {
                let _ = grokscope::train::trainer::Trainer::from_state(&state);
            }
            Ok(())
        })
        .unwrap();
    cases += n;

    // 4. sweep result files (1,500)
    let task = Task {
        p: 23,
        width: 8,
        seed: 0,
    };
    let result = grokscope::store::sweep_dir::example_result();
    let json = serde_json::to_string_pretty(&result).unwrap();
    let sweep = tempfile::tempdir().unwrap();
    let tiny = grokscope::config::capacity::sweep_preset("tiny")
        .unwrap()
        .config;
    let n = 1500;
    runner(n)
        .run(&damage(), |d| {
            std::fs::write(
                sweep.path().join(task.file_name()),
                apply(&d, json.as_bytes()),
            )
            .unwrap();
            let _ = load_result(sweep.path(), &task, None);
            let _ = load_result(sweep.path(), &task, Some(&tiny));
            Ok(())
        })
        .unwrap();
    cases += n;

    // 5. weight matrices (1,000): any text; D, when given, is in [0, 1]
    let n = 1000;
    let matrix = "0,1,0.5\n0.25,0,1\n0.5,0.75,0\n";
    runner(n)
        .run(&damage(), |d| {
            let text = String::from_utf8_lossy(&apply(&d, matrix.as_bytes())).to_string();
            if let Ok(v) = grokscope::cli::ordering::orderedness_json(&text) {
                let dv = v["d"].as_f64().unwrap_or(f64::NAN);
                prop_assert!((0.0..=1.0).contains(&dv), "d = {dv} for {text:?}");
            }
            Ok(())
        })
        .unwrap();
    cases += n;

    assert!(cases >= 10_000, "{cases} cases");
    let times = from_env("GROKSCOPE_FUZZ_TIMES").unwrap_or(1);
    eprintln!(
        "fuzz: {} cases in {:.1}s",
        u64::from(cases) * u64::from(times),
        t0.elapsed().as_secs_f64()
    );
}
