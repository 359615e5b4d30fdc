//! What the paper's transformer is, apart from how it computes: its constants, its parameters and their
//! initial values, its dropout draws and its rotary tables. The hand-written CPU path
//! ([`super::transformer_cpu`]) and the candle model ([`super::transformer`], the test reference and the GPU
//! path, built with the `candle` feature) both take these from here, so they start from the same numbers
//! and draw the same masks; neither needs the other to be built.

use super::{ModelError, NamedTensor};
use crate::config::TransformerConfig;
use crate::rng::Rng;
use rand::{Rng as _, RngCore};

/// Tokens per example: `[a, OP, b, EQ]`.
pub const SEQ: usize = 4;
pub const ROPE_BASE: f64 = 1e6;
pub const NORM_EPS: f64 = 1e-5;
/// Parameter tensors per block, in slot order: attn_norm, q, k, v, o, ffn_norm, w1, w3, w2.
pub const PER_BLOCK: usize = 9;

/// How a parameter is initialised (before `init_scale`).
#[derive(Clone, Copy)]
enum Init {
    /// N(0, 1), as PyTorch's `nn.Embedding`.
    Normal,
    /// U(-1/sqrt(fan_in), 1/sqrt(fan_in)), as PyTorch's default for `nn.Linear` weights.
    Uniform { fan_in: usize },
    /// All ones (norm scales); draws nothing.
    Ones,
}

/// A standard normal by Box-Muller from two uniforms (one pair per call, both values returned).
fn normal_pair(rng: &mut Rng) -> (f64, f64) {
    // 1 - U lies in (0, 1], so the log is finite.
    let u1 = 1.0 - rng.random::<f64>();
    let u2 = rng.random::<f64>();
    let r = (-2.0 * u1.ln()).sqrt();
    let angle = std::f64::consts::TAU * u2;
    (r * angle.cos(), r * angle.sin())
}

/// Values of one parameter, drawn in row-major order; normals come in Box-Muller pairs (an odd tail
/// discards the second value of its pair).
fn draw(init: Init, n: usize, scale: f64, rng: &mut Rng) -> Vec<f32> {
    let mut v = Vec::with_capacity(n);
    match init {
        Init::Normal => {
            while v.len() < n {
                let (z0, z1) = normal_pair(rng);
                v.push(z0);
                if v.len() < n {
                    v.push(z1);
                }
            }
        }
        Init::Uniform { fan_in } => {
            let bound = 1.0 / (fan_in as f64).sqrt();
            v.extend((0..n).map(|_| (2.0 * rng.random::<f64>() - 1.0) * bound));
        }
        Init::Ones => v.resize(n, 1.0),
    }
    v.into_iter().map(|x| (x * scale) as f32).collect()
}

/// Inverted-dropout mask with `n` entries: each kept (value 1/(1 - rate)) with probability 1 - `rate`, else 0.
/// Each entry uses 16 random bits (four per `u64`, low bits first), kept when below round((1 - rate) * 2^16):
/// the keep probability is exact to 2^-17, at a quarter of the generator work of one `u32` per entry (ChaCha
/// was a third of a debug-build step at one `u32` per entry).
pub fn dropout_mask(n: usize, rate: f64, rng: &mut Rng) -> Vec<f32> {
    let (mut mask, mut draws) = (vec![], vec![]);
    fill_dropout_mask(&mut mask, &mut draws, n, rate, rng);
    mask
}

/// [`dropout_mask`] into reused buffers (the same draws): the `u64` draws' bytes first, in `draws`, as
/// one run of the generator's stream (`fill_bytes` gives each `u64` as `next_u64` does, little-endian: a
/// test holds the two to the same entries and the same generator state after), then a branch-free pass
/// over their 16-bit pieces, one entry each (entry 4i + k takes bits 16k..16k+16 of draw i), that the
/// compiler vectorises. (Over the `u64`s, four entries to a draw, it did not: a scalar select an entry,
/// 5 % of a d = 32 training run; drawing `u64` by `u64`, the buffer's checks were another 2 %.)
#[inline(always)]
pub fn fill_dropout_mask(
    mask: &mut Vec<f32>,
    draws: &mut Vec<u8>,
    n: usize,
    rate: f64,
    rng: &mut Rng,
) {
    let keep = 1.0 - rate;
    let threshold = (keep * 65536.0).round() as u32;
    let kept = (1.0 / keep) as f32;
    draws.resize(8 * n.div_ceil(4), 0);
    rng.fill_bytes(draws);
    mask.resize(n, 0.0);
    for (m, b) in mask.iter_mut().zip(draws.chunks_exact(2)) {
        let piece = u32::from(u16::from_le_bytes([b[0], b[1]]));
        *m = if piece < threshold { kept } else { 0.0 };
    }
}

/// Every parameter, initialised from `rng`, as (name, shape, values) in slot order. Draw order = slot order
/// (embed, then per block attn_norm, q, k, v, o, ffn_norm, w1, w3, w2, then final_norm, unembed), each
/// tensor row-major; norms draw nothing. Refuses a head count that does not split `d_model` into even widths.
pub fn init_params(
    cfg: &TransformerConfig,
    p: u32,
    rng: &mut Rng,
) -> Result<Vec<NamedTensor>, ModelError> {
    let (d, depth, heads) = (cfg.d_model, cfg.depth, cfg.heads);
    if d == 0 || heads == 0 || d % heads != 0 || (d / heads) % 2 != 0 {
        return Err(ModelError::Other(format!(
            "{heads} heads must divide d_model {d} into an even head width"
        )));
    }
    if !(0.0..1.0).contains(&cfg.dropout) {
        return Err(ModelError::Other(format!(
            "dropout {} must lie in [0, 1)",
            cfg.dropout
        )));
    }
    let vocab = p as usize + 2;
    let hidden = 4 * d;
    let mut specs: Vec<(String, Vec<usize>, Init)> =
        vec![("embed".into(), vec![vocab, d], Init::Normal)];
    for b in 0..depth {
        let lin = |name: &str, out: usize, fan_in: usize| {
            (
                format!("blocks.{b}.{name}"),
                vec![out, fan_in],
                Init::Uniform { fan_in },
            )
        };
        specs.push((format!("blocks.{b}.attn_norm"), vec![d], Init::Ones));
        specs.push(lin("attn.q", d, d));
        specs.push(lin("attn.k", d, d));
        specs.push(lin("attn.v", d, d));
        specs.push(lin("attn.o", d, d));
        specs.push((format!("blocks.{b}.ffn_norm"), vec![d], Init::Ones));
        specs.push(lin("ffn.w1", hidden, d));
        specs.push(lin("ffn.w3", hidden, d));
        specs.push(lin("ffn.w2", d, hidden));
    }
    specs.push(("final_norm".into(), vec![d], Init::Ones));
    specs.push((
        "unembed".into(),
        vec![vocab, d],
        Init::Uniform { fan_in: d },
    ));
    Ok(specs
        .into_iter()
        .map(|(name, shape, init)| {
            let values = draw(init, shape.iter().product(), cfg.init_scale, rng);
            (name, shape, values)
        })
        .collect())
}

/// Rotary tables for positions 0..SEQ, each half of a head's `hd` dims repeated: (cos, sin), each [SEQ, hd].
pub fn rotary_tables(hd: usize) -> (Vec<f32>, Vec<f32>) {
    let half = hd / 2;
    let mut cos = Vec::with_capacity(SEQ * hd);
    let mut sin = Vec::with_capacity(SEQ * hd);
    for pos in 0..SEQ {
        let angles: Vec<f64> = (0..half)
            .map(|i| pos as f64 * ROPE_BASE.powf(-2.0 * i as f64 / hd as f64))
            .collect();
        for _ in 0..2 {
            cos.extend(angles.iter().map(|a| a.cos() as f32));
            sin.extend(angles.iter().map(|a| a.sin() as f32));
        }
    }
    (cos, sin)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ModelConfig;
    use crate::rng::{Stream, stream};

    fn cfg(d: usize, depth: usize, heads: usize) -> TransformerConfig {
        TransformerConfig {
            d_model: d,
            depth,
            heads,
            dropout: 0.0,
            init_scale: 1.0,
            device: Default::default(),
        }
    }

    fn params(c: &TransformerConfig, p: u32, seed: u64) -> Vec<NamedTensor> {
        init_params(c, p, &mut stream(seed, Stream::Init)).unwrap()
    }

    #[test]
    fn param_count_matches_the_spec_formula() {
        // expected: the spec's closed form 2(p+2)d + d + depth(16d^2 + 2d) via ModelConfig::param_count
        for (p, d, depth) in [(5, 4, 1), (47, 32, 2), (97, 128, 2), (11, 6, 3)] {
            let c = cfg(d, depth, 1);
            let ps = params(&c, p, 0);
            let count: usize = ps.iter().map(|(_, _, v)| v.len()).sum();
            let want = ModelConfig::Transformer(c).param_count(p as usize);
            assert_eq!(count as u64, want, "p={p} d={d} depth={depth}");
            assert_eq!(
                ps.len(),
                3 + PER_BLOCK * depth,
                "embed, blocks, final_norm, unembed"
            );
        }
        // by hand for p=5, d=4, depth=1: 2*7*4 + 4 + (16*16 + 2*4) = 56 + 4 + 264
        let count: usize = params(&cfg(4, 1, 1), 5, 0)
            .iter()
            .map(|(_, _, v)| v.len())
            .sum();
        assert_eq!(count, 324);
    }

    #[test]
    fn init_follows_the_stated_distributions() {
        // expected: norms are ones; linear weights lie in +-1/sqrt(fan_in); init_scale multiplies everything
        let plain = params(&cfg(8, 1, 2), 7, 3);
        let mut scaled_cfg = cfg(8, 1, 2);
        scaled_cfg.init_scale = 0.5;
        let scaled = params(&scaled_cfg, 7, 3);
        for ((name, shape, v), (_, _, vs)) in plain.into_iter().zip(scaled) {
            if name.ends_with("norm") {
                assert!(v.iter().all(|&x| x == 1.0), "{name}");
            } else if name != "embed" {
                let bound = 1.0 / (shape[1] as f32).sqrt();
                assert!(v.iter().all(|x| x.abs() <= bound), "{name}");
            }
            for (a, b) in v.iter().zip(&vs) {
                assert_eq!(a * 0.5, *b, "{name}");
            }
        }
    }

    #[test]
    fn bad_head_count_is_refused() {
        // expected: 6 = 2 heads of width 3, which is odd, so rotary cannot pair its dims
        assert!(init_params(&cfg(6, 1, 2), 5, &mut stream(0, Stream::Init)).is_err());
    }

    /// Expected: the mask as first written (one draw per four entries, taken low bits first, one entry
    /// at a time), element for element, and the stream left in the same place (the next draw equal), for
    /// lengths that are and are not multiples of four and for several rates.
    #[test]
    fn dropout_masks_are_the_first_written_ones() {
        // `odd`: the stream used by one u32 first, so that draws straddle the generator's blocks (which
        // `next_u64` and `fill_bytes` must cross alike)
        let cases = [(1, 0.2), (7, 0.5), (64, 0.2), (1003, 0.1), (4096, 0.9)];
        for ((n, rate), odd) in cases.into_iter().flat_map(|c| [(c, false), (c, true)]) {
            let (mut a, mut b) = (stream(5, Stream::Dropout), stream(5, Stream::Dropout));
            if odd {
                a.next_u32();
                b.next_u32();
            }
            let keep: f64 = 1.0 - rate;
            let threshold = (keep * 65536.0).round() as u64;
            let mut want = vec![0.0f32; n];
            for four in want.chunks_mut(4) {
                let mut bits = a.next_u64();
                for m in four {
                    *m = if bits & 0xffff < threshold {
                        (1.0 / keep) as f32
                    } else {
                        0.0
                    };
                    bits >>= 16;
                }
            }
            let (mut got, mut draws) = (vec![], vec![]);
            fill_dropout_mask(&mut got, &mut draws, n, rate, &mut b);
            assert_eq!(got, want, "n {n} rate {rate} odd {odd}");
            assert_eq!(a.next_u64(), b.next_u64(), "n {n} rate {rate} odd {odd}");
        }
    }

    #[test]
    fn dropout_mask_keeps_the_right_fraction() {
        // expected: Bernoulli(0.8) over 200000 entries has mean 0.8 with sd 0.0009; kept entries are 1/0.8
        let m = dropout_mask(200_001, 0.2, &mut stream(3, Stream::Dropout));
        assert_eq!(m.len(), 200_001);
        assert!(m.iter().all(|&x| x == 0.0 || x == 1.25));
        let kept = m.iter().filter(|&&x| x > 0.0).count() as f64 / m.len() as f64;
        assert!((kept - 0.8).abs() < 0.005, "{kept}");
    }
}
