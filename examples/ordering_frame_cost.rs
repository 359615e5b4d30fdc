//! CPU cost of a frame of the Ordering tab while a (synthetic) run streams in: building the frame
//! (the app's `ui`, as the status bar's frame time) and tessellating it, without any rasteriser, so
//! the number does not depend on the GPU or on a software renderer.
//!
//! ```sh
//! cargo run --release --example ordering_frame_cost -- [hidden ...]
//! ```
//! For the Grokking tab (idle, the baseline) and each hidden size, it prints the median, p99 and
//! maximum over 300 frames. The headless harness builds an accessibility tree every frame, which the
//! window only does when a screen reader asks: these times are upper bounds.

#[path = "../tests/support/ordering_synth.rs"]
mod synth;

use egui_kittest::Harness;
use grokscope::app::{
    Action, FixedPathDialog, GrokscopeApp, Lab, LabSlot, OrderingLab, Unattached,
};
use std::sync::Arc;
use std::time::{Duration, Instant};

const FRAMES: usize = 300;

fn percentile(sorted: &[f64], q: f64) -> f64 {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn report(name: &str, mut build: Vec<f64>, mut tess: Vec<f64>) {
    let mut total: Vec<f64> = build.iter().zip(&tess).map(|(a, b)| a + b).collect();
    for v in [&mut build, &mut tess, &mut total] {
        v.sort_by(f64::total_cmp);
    }
    let line = |v: &[f64]| {
        format!(
            "median {:6.2}  p99 {:6.2}  max {:6.2}",
            percentile(v, 0.5),
            percentile(v, 0.99),
            v[v.len() - 1]
        )
    };
    println!("{name}");
    println!("  build       ms: {}", line(&build));
    println!("  tessellate  ms: {}", line(&tess));
    println!("  sum         ms: {}", line(&total));
}

/// Time `FRAMES` frames of `lab` with a run of `hidden` neurons streaming in (`None`: nothing runs).
fn measure(lab: Lab, hidden: Option<usize>) -> (Vec<f64>, Vec<f64>, usize) {
    // about one snapshot every two frames at 60 frames/s
    let synthetic = synth::Synthetic::new(Some(1_000), Some(Duration::from_millis(10)));
    let mut harness = Harness::builder()
        .with_size(eframe::egui::vec2(1280.0, 800.0))
        .build_eframe(move |cc| {
            let mut app = GrokscopeApp::with_backend(
                cc,
                Arc::new(FixedPathDialog(None)),
                Box::new(Unattached::default()),
            )
            .with_lab_backend(Lab::Ordering, Box::new(synthetic));
            app.show_lab(lab);
            let ordering = app
                .lab_as_mut::<OrderingLab>()
                .expect("the Ordering lab is registered");
            ordering.apply(Action::SelectPreset(1), Default::default());
            if let Some(h) = hidden {
                ordering.config_mut().hidden = h;
                ordering.apply(Action::Start, Default::default());
            }
            app
        });
    // warm up: fonts, the first snapshots
    for _ in 0..30 {
        harness.step();
        std::thread::sleep(Duration::from_millis(16));
    }
    let ppp = harness.ctx.pixels_per_point();
    let (mut build, mut tess) = (Vec::new(), Vec::new());
    for _ in 0..FRAMES {
        let t0 = Instant::now();
        harness.step();
        let t1 = Instant::now();
        let shapes = harness.output().shapes.clone();
        let meshes = harness.ctx.tessellate(shapes, ppp);
        let t2 = Instant::now();
        std::hint::black_box(meshes);
        build.push((t1 - t0).as_secs_f64() * 1e3);
        tess.push((t2 - t1).as_secs_f64() * 1e3);
        // a 60 frames/s display
        std::thread::sleep(Duration::from_millis(16));
    }
    let snapshots = harness
        .state()
        .lab_as::<OrderingLab>()
        .expect("the Ordering lab is registered")
        .history()
        .snapshots()
        .len();
    (build, tess, snapshots)
}

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![8, 20, 64]
    } else {
        sizes
    };
    let (b, t, _) = measure(Lab::Grokking, None);
    report("Grokking tab, idle (baseline)", b, t);
    for h in sizes {
        let (b, t, snaps) = measure(Lab::Ordering, Some(h));
        let n = h + 1;
        report(
            &format!(
                "Ordering tab, H = {h}: {} weights, {snaps} snapshots received while measured",
                n * (n + 2)
            ),
            b,
            t,
        );
    }
}
