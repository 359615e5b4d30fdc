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

mod live_and_saved {
    use grokscope::analysis::ablation::AblationLosses;
    use grokscope::config::{GrokkingConfig, ModelConfig, Operation, TransformerConfig};
    use grokscope::experiment::Unattended;
    use grokscope::experiment::grokking::{
        self, RunOptions, Start, final_keys_from_saved, insight_from_saved,
    };
    use grokscope::protocol::{Event, GrokkingEvent, InsightSnapshot, LabEvent};
    use grokscope::store::run_dir::{RunFolder, RunWriter};
    use grokscope::train::insight::InsightEvery;

    fn tiny(model: Option<ModelConfig>, op: Operation) -> GrokkingConfig {
        let mut c = grokscope::config::preset("fast-mlp").unwrap().config;
        c.p = 13;
        c.op = op;
        c.max_epochs = 12;
        c.early_stop = false;
        if let Some(m) = model {
            c.model = m;
            c.full_batch = false;
            c.batch_size = 32;
        }
        c
    }

    /// One block of width 8, with dropout (the views are of the model in eval mode).
    fn small_transformer() -> ModelConfig {
        ModelConfig::Transformer(TransformerConfig {
            d_model: 8,
            depth: 1,
            heads: 1,
            dropout: 0.1,
            init_scale: 1.0,
            device: Default::default(),
        })
    }

    fn snapshots(events: &[Event]) -> Vec<InsightSnapshot> {
        events
            .iter()
            .filter_map(|e| match e {
                Event::Lab {
                    payload: LabEvent::Grokking(GrokkingEvent::Insight(s)),
                    ..
                } => Some((**s).clone()),
                _ => None,
            })
            .collect()
    }

    /// A run of `cfg` with `opts`: its events and what it hands back.
    fn run_with(cfg: &GrokkingConfig, opts: RunOptions) -> (Vec<Event>, grokking::RunEnd) {
        let mut events = Vec::new();
        let end = grokking::run(
            Start::New(cfg.clone().try_into().unwrap()),
            1,
            &mut events,
            &mut Unattended,
            opts,
        );
        (events, end)
    }

    /// The views recomputed from a run folder's saved weights, every one readable.
    fn saved_views(folder: &RunFolder) -> Vec<InsightSnapshot> {
        let mut saved = Vec::new();
        insight_from_saved(folder, &mut |s| {
            saved.push(s.unwrap());
            true
        });
        saved
    }

    /// `a` and `b` pairwise equal, bit for bit.
    fn same_views(a: &[InsightSnapshot], b: &[InsightSnapshot], op: Operation) {
        for (a, b) in a.iter().zip(b) {
            assert_eq!(a, b, "{op:?}: step {}", a.step);
        }
    }

    /// Scrubbing's promise: the views at step s of a live run equal those recomputed from the
    /// checkpoint at s. Expected values: the live run's own snapshots, taken on the same epochs as its
    /// checkpoints (every 4), compared field by field, bit for bit.
    #[test]
    fn views_of_a_live_run_equal_those_recomputed_from_its_checkpoints() {
        let transformer = small_transformer();
        for (model, op) in [(None, Operation::Div), (Some(transformer), Operation::Add)] {
            let dir = tempfile::tempdir().unwrap();
            let run_dir = dir.path().join("run");
            let cfg = tiny(model, op);
            let opts = RunOptions {
                writer: Some(RunWriter::create(&run_dir, &cfg, None).unwrap()),
                checkpoint_every: grokscope::config::checkpoints::CheckpointEvery::from(4),
                insight: InsightEvery::Epochs(4),
                ..RunOptions::default()
            };
            let mut events = Vec::new();
            grokking::run(
                Start::New(cfg.clone().try_into().unwrap()),
                1,
                &mut events,
                &mut Unattended,
                opts,
            );
            let live = snapshots(&events);
            let steps: Vec<u64> = live.iter().map(|s| s.epoch).collect();
            assert_eq!(steps, [0, 4, 8, 12], "{op:?}: snapshot epochs");
            let folder = RunFolder::open(&run_dir).unwrap();
            let saved = saved_views(&folder);
            assert_eq!(saved.len(), live.len(), "{op:?}: one per checkpoint");
            same_views(&live, &saved, op);
            assert!(live.iter().all(|s| s.ablation.is_some()));
            // the ablation with the final checkpoint's keys at every checkpoint (as a live run draws
            // it once it has ended). Expected: where a checkpoint's own keys are the final ones, its
            // own snapshot's ablation, bit for bit; the last checkpoint is always such a one
            let final_keys = saved.last().unwrap().keys.clone();
            let mut fixed = Vec::new();
            final_keys_from_saved(&folder, &final_keys, &mut |r| {
                fixed.push(r.unwrap());
                true
            });
            assert_eq!(fixed.len(), saved.len(), "{op:?}: one per checkpoint");
            let mut same = 0;
            for ((step, epoch, ab), own) in fixed.iter().zip(&saved) {
                assert_eq!((*step, *epoch), (own.step, own.epoch), "{op:?}");
                assert_eq!(ab.keys, final_keys, "{op:?}: step {step}");
                if own.keys == final_keys {
                    assert_eq!(own.ablation.as_ref(), Some(ab), "{op:?}: step {step}");
                    same += 1;
                }
            }
            assert!(same >= 1, "{op:?}");
        }
    }

    /// The views filled in after a run (from the weight frames it kept) are those it would have sent
    /// live at the same steps. Expected values: a second run of the same config with a snapshot every
    /// epoch, compared bit for bit. A live budget of 0 sends only the first and last snapshots, so
    /// every other epoch is filled in, farthest from those shown first.
    #[test]
    fn views_filled_in_after_a_run_equal_those_sent_live() {
        let transformer = small_transformer();
        for (model, op) in [(None, Operation::Mul), (Some(transformer), Operation::Sub)] {
            let cfg = tiny(model, op);
            let run = |insight| {
                run_with(
                    &cfg,
                    RunOptions {
                        insight,
                        ..RunOptions::default()
                    },
                )
            };
            let (every, _) = run(InsightEvery::Epochs(1));
            let every = snapshots(&every);
            assert_eq!(every.len(), 13, "{op:?}: epochs 0 to 12");
            let (live, end) = run(InsightEvery::Budget(0.0));
            let live = snapshots(&live);
            let epochs = |s: &[InsightSnapshot]| s.iter().map(|s| s.epoch).collect::<Vec<_>>();
            assert_eq!(epochs(&live), [0, 12], "{op:?}: live");
            let mut views = end.views.expect("a run with views hands them back");
            let mut filled_events = Vec::new();
            while views.fill_one(&mut filled_events) {}
            assert!(!views.can_fill());
            let filled = snapshots(&filled_events);
            // farthest from 0 and 12 first: 6; then 3 and 9 (3 gaps each); then the rest
            assert_eq!(epochs(&filled)[..3], [6, 3, 9], "{op:?}: fill order");
            let (final_keys, final_step) = {
                let last = live.last().unwrap();
                (last.keys.clone(), last.step)
            };
            let mut all = [live, filled].concat();
            all.sort_by_key(|s| s.step);
            assert_eq!(all.len(), every.len(), "{op:?}: every epoch once");
            for (a, b) in all.iter().zip(&every) {
                assert_eq!(a, b, "{op:?}: step {}", a.step);
            }
            // then the restricted and excluded loss with the final model's keys: the final step's
            // first (its own snapshot's), then every kept frame (epochs 1-12)
            let fixed: Vec<(u64, u64, AblationLosses)> = filled_events
                .iter()
                .filter_map(|e| match e {
                    Event::Lab {
                        payload:
                            LabEvent::Grokking(GrokkingEvent::FinalKeys {
                                step,
                                epoch,
                                ablation,
                            }),
                        ..
                    } => Some((*step, *epoch, ablation.clone())),
                    _ => None,
                })
                .collect();
            assert_eq!(fixed[0].0, final_step, "{op:?}");
            let mut epochs: Vec<u64> = fixed.iter().map(|f| f.1).collect();
            epochs.sort_unstable();
            assert_eq!(epochs, (1..=12).collect::<Vec<u64>>(), "{op:?}");
            // expected: where a step's own keys are the final ones, its own snapshot's ablation, bit
            // for bit (the same weights, keys and functions); every point uses the final keys
            let mut same = 0;
            for (step, epoch, ab) in &fixed {
                assert_eq!(ab.keys, final_keys, "{op:?}: step {step}");
                let own = &every[*epoch as usize];
                assert_eq!(own.step, *step);
                if own.keys == final_keys {
                    assert_eq!(own.ablation.as_ref(), Some(ab), "{op:?}: step {step}");
                    same += 1;
                }
            }
            assert!(same >= 1, "{op:?}: the final step at least");
        }
    }

    /// A window run stopped and resumed in its folder fills in its views, and its restricted loss with
    /// the final keys, from its start, not from where it was resumed (a researcher's audit: after Stop
    /// and Continue, the views and the final keys' curve began at the stop step, though the weights
    /// before it were on disk). Expected values: an uninterrupted run of the same config with a
    /// snapshot every epoch (the same numbers: a resume is bit for bit the run it continues).
    #[test]
    fn a_resumed_window_run_fills_in_its_views_from_its_start() {
        use grokscope::experiment::grokking::ContinueSpec;
        let cfg = tiny(None, Operation::Add);
        let (every, _) = run_with(
            &cfg,
            RunOptions {
                insight: InsightEvery::Epochs(1),
                ..RunOptions::default()
            },
        );
        let every = snapshots(&every);
        assert_eq!(every.len(), 13, "epochs 0 to 12");
        let dir = tempfile::tempdir().unwrap();
        let run_dir = dir.path().join("run");
        // the window's first part: stopped at epoch 5, its frames saved with it
        let (_, first) = run_with(
            &cfg,
            RunOptions {
                writer: Some(RunWriter::create(&run_dir, &cfg, None).unwrap()),
                insight: InsightEvery::Budget(0.0),
                stop_at_epoch: Some(5),
                checkpoint_every: grokscope::config::checkpoints::CheckpointEvery::from(1000),
                ..RunOptions::default()
            },
        );
        let mut writer = first.writer.expect("the recorder");
        writer
            .keep_frames(first.views.expect("the views").frames())
            .unwrap();
        drop(writer);
        let mut events = Vec::new();
        let end = grokking::run(
            Start::Continue(ContinueSpec {
                from: run_dir.clone(),
                step: None,
                fork: None,
            }),
            2,
            &mut events,
            &mut Unattended,
            RunOptions {
                insight: InsightEvery::Budget(0.0),
                checkpoint_every: grokscope::config::checkpoints::CheckpointEvery::from(1000),
                ..RunOptions::default()
            },
        );
        let mut views = end.views.expect("the resumed run's views");
        while views.fill_one(&mut events) {}
        let mut sent = snapshots(&events);
        sent.sort_by_key(|s| s.step);
        sent.dedup_by_key(|s| s.step);
        // every epoch, 0 to 12: those before the stop from the frames the first part saved
        let epochs: Vec<u64> = sent.iter().map(|s| s.epoch).collect();
        assert_eq!(epochs, (0..=12).collect::<Vec<u64>>());
        for (a, b) in sent.iter().zip(&every) {
            assert_eq!(a, b, "step {}", a.step);
        }
        // the final keys' restricted and excluded loss at every epoch from 0 (the first part's
        // checkpoint at step 0 and frames) to the end, with the final model's keys
        let final_keys = every.last().unwrap().keys.clone();
        let mut fixed: Vec<u64> = events
            .iter()
            .filter_map(|e| match e {
                Event::Lab {
                    payload:
                        LabEvent::Grokking(GrokkingEvent::FinalKeys {
                            epoch, ablation, ..
                        }),
                    ..
                } => {
                    assert_eq!(ablation.keys, final_keys, "epoch {epoch}");
                    Some(*epoch)
                }
                _ => None,
            })
            .collect();
        fixed.sort_unstable();
        assert_eq!(fixed, (0..=12).collect::<Vec<u64>>());
    }

    /// A window run saved (while it trains, or after it ended) and opened again is scrubbed as
    /// densely as the live one: its weight frames are saved with it, and the views recomputed from
    /// frames and checkpoints equal the live ones. Expected values: a run of the same config with a
    /// snapshot every epoch, compared bit for bit.
    #[test]
    fn a_saved_window_run_reopens_with_a_view_at_every_frame() {
        let transformer = small_transformer();
        for (model, op) in [(None, Operation::Div), (Some(transformer), Operation::Add)] {
            let cfg = tiny(model, op);
            let run = |insight, writer| {
                run_with(
                    &cfg,
                    RunOptions {
                        insight,
                        writer,
                        // checkpoints only at the start, at milestones and at the end: the views in
                        // between can only come from the frames
                        checkpoint_every: grokscope::config::checkpoints::CheckpointEvery::from(
                            1000,
                        ),
                        ..RunOptions::default()
                    },
                )
            };
            let (every, _) = run(InsightEvery::Epochs(1), None);
            let every = snapshots(&every);
            let dir = tempfile::tempdir().unwrap();
            // saved from the start (autosave), and saved after it ended (Save run… of a finished run)
            let live_dir = dir.path().join("live");
            let writer = RunWriter::create(&live_dir, &cfg, None).unwrap();
            let _ = run(InsightEvery::Budget(0.0), Some(writer));
            let later_dir = dir.path().join("later");
            let (_, end) = run(
                InsightEvery::Budget(0.0),
                Some(RunWriter::in_memory(&cfg, None)),
            );
            let mut writer = end.writer.expect("the recorder comes back");
            assert_eq!(writer.held_frames().len(), 12, "{op:?}: held until saved");
            writer.attach(&later_dir).unwrap();
            for run_dir in [live_dir, later_dir] {
                let folder = RunFolder::open(&run_dir).unwrap();
                assert!(folder.problems.is_empty(), "{:?}", folder.problems);
                let frame_epochs: Vec<u64> = folder.frames.iter().map(|f| f.epoch).collect();
                assert_eq!(frame_epochs, (1..=12).collect::<Vec<u64>>(), "{op:?}");
                assert!(
                    folder.checkpoints.len() < 5,
                    "{op:?}: {} checkpoints",
                    folder.checkpoints.len()
                );
                let saved = saved_views(&folder);
                // epoch 0 from its checkpoint, 1-12 from the frames: every epoch, as live
                assert_eq!(saved.len(), every.len(), "{op:?}: {run_dir:?}");
                same_views(&every, &saved, op);
            }
        }
    }
}
