//! The insight measures (`analysis/`) read the models the way they compute: checked here, outside
//! `analysis/`, which stays pure (it imports no model).

use grokscope::analysis::ablation::{HiddenGrid, MlpWeights, argmax_rows, grid_logits};
use grokscope::config::{Activation, Combine, MlpConfig, Operation};
use grokscope::model::{Model, mlp::Mlp};
use grokscope::rng::{Stream, stream};

#[test]
fn mlp_weights_read_the_model_as_it_computes() {
    // the model's own evaluation (its forward on gemm) against hidden() + the linear read-out: same
    // loss and the same right answers, for both ways of combining a and b
    let p = 11u32;
    for (combine, activation) in [
        (Combine::Concat, Activation::Relu),
        (Combine::Sum, Activation::Square),
    ] {
        let cfg = MlpConfig {
            embed_dim: 6,
            hidden: 9,
            activation,
            combine,
            init_scale: 1.0,
        };
        let mut model = Mlp::new(&cfg, p, &mut stream(3, Stream::Init));
        let ex = grokscope::data::modular::all_examples(Operation::Sub, p);
        let stats = model.evaluate(&ex.xs, &ex.ys).unwrap();
        let tensors = model.export().unwrap();
        let mw = MlpWeights::from_export(&tensors, activation).unwrap();
        assert_eq!(mw.combine, combine);
        let p = p as usize;
        let hidden = mw.hidden(p);
        let grid = HiddenGrid {
            op: Operation::Sub,
            p,
            h: 9,
            values: &hidden,
            logits: None,
        };
        let logits = grid_logits(&grid, &mw.readout());
        let preds = argmax_rows(&logits, p);
        // mean cross-entropy over the task's pairs (log-sum-exp by hand)
        let loss = ex
            .xs
            .iter()
            .zip(&ex.ys)
            .map(|(x, &y)| {
                let row = &logits[(x[0] as usize * p + x[1] as usize) * p..][..p];
                let m = row
                    .iter()
                    .fold(f64::NEG_INFINITY, |a, &v| a.max(f64::from(v)));
                let lse = m + row
                    .iter()
                    .map(|&v| (f64::from(v) - m).exp())
                    .sum::<f64>()
                    .ln();
                lse - f64::from(row[y as usize])
            })
            .sum::<f64>()
            / ex.xs.len() as f64;
        assert!(
            (loss - stats.mean_loss()).abs() < 1e-4,
            "{loss} vs {}",
            stats.mean_loss()
        );
        let right = ex
            .xs
            .iter()
            .zip(&ex.ys)
            .filter(|(x, y)| preds[x[0] as usize * p + x[1] as usize] == **y)
            .count();
        assert_eq!(right, stats.correct);
    }
    assert!(MlpWeights::from_export(&[], Activation::Relu).is_err());
}
