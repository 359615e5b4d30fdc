use grokscope::config::*;
use grokscope::experiment::{Unattended, grokking};
use grokscope::protocol::Event;
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let p: u32 = args[1].parse().unwrap();
    let frac: f64 = args[2].parse().unwrap();
    let e: usize = args[3].parse().unwrap();
    let h: usize = args[4].parse().unwrap();
    let lr: f64 = args[5].parse().unwrap();
    let op = match args[6].as_str() {
        "+" => Operation::Add,
        "/" => Operation::Div,
        "*" => Operation::Mul,
        _ => Operation::Sub,
    };
    let mut cfg = preset("fast-mlp").unwrap().config;
    cfg.p = p;
    cfg.train_fraction = frac;
    cfg.op = op;
    cfg.optim.lr = lr;
    if let ModelConfig::Mlp(m) = &mut cfg.model {
        m.embed_dim = e;
        m.hidden = h;
    }
    cfg.max_epochs = 3000;
    for seed in 0..3 {
        cfg.seed = seed;
        let mut evs: Vec<Event> = vec![];
        let t = std::time::Instant::now();
        let Ok(valid) = cfg.clone().try_into() else {
            println!("seed {seed}: invalid config");
            continue;
        };
        grokking::run(
            grokking::Start::New(valid),
            1,
            &mut evs,
            &mut Unattended,
            Default::default(),
        );
        if let Some(Event::Finished {
            summary: Some(s),
            outcome,
            ..
        }) = evs.last()
        {
            println!(
                "seed {seed}: {outcome:?} epochs {} t_train {:?} t_val {:?} val {:?} {:.2}s",
                s.epochs,
                s.t_train_epoch,
                s.t_val_epoch,
                s.final_val_acc,
                t.elapsed().as_secs_f64()
            );
        }
    }
}
