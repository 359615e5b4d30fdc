//! Evaluation's suffix pass ([`Layout::suffix_body`]) sixteen examples at a time, one in each lane of an
//! AVX-512 register, on machines that have it ([`suffix`]).
//!
//! The row-major pass spends most of a small model's evaluation outside its products: per row, a few
//! dozen floats of RMSNorm, rotary, attention over four positions and SwiGLU, each loop too short to
//! fill a register. Here every value is a register of sixteen examples, so each of those operations
//! runs sixteen wide whatever d is, and the products are fused multiply-adds of a register by a weight.
//! The compiler, left to vectorise loops over such values, chose the loops over features and gathered
//! (perf showed hundreds of gathers and scatters), so the pass is written with `std::arch` intrinsics.
//!
//! It keeps the row-major pass's bits. `gemm` computes each element of a product as one chain of fused
//! multiply-adds over k in order, from +0, then adds the destination when it accumulates; the lane
//! pass's products (`chain`) repeat that chain in each lane. One chain on every machine: gemm 0.19
//! blocks k by at least min(k, 512) whatever the caches (`gemm_common::cache::kernel_params`), and k
//! here is at most 4d = 384; the row-major pass's products have at least 64 rows (see
//! [`Layout::tables`]), so gemm takes its main path. Every other operation is the row-wise
//! code's, in the same order (no multiply-add fused where that code has none), on sixteen examples at
//! once. The test `shared_prefixes_give_the_full_passes_bits` holds the lane pass's logits to the
//! row-major pass's (d = 8 to 96, one to four heads, one to three blocks). Written by hand: no crate lays
//! a transformer's evaluation out this way.

use super::{K, Layout, O, Q, V, W1, W2, W3};

/// Examples a pass computes together.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
const LANES: usize = 16;

/// The widest model the lane pass takes. One evaluation of the training and validation sets (p = 47 or
/// as given, 50 % train), lane pass against row-major pass, alternating on this 2-core machine: d = 16
/// 1.22-1.25 ms against 1.59-1.71; d = 32 2.92-2.95 against 3.29-3.32 (p = 23: 0.74-0.78 against 0.87);
/// d = 48 (p = 31) 1.95-2.26 against 2.11-2.21; d = 64 7.9-8.0 against 8.4-8.6; d = 96 15.5-16.0 against
/// 16.3-16.5; d = 128 (p = 97) 119-120 against 118-121, no gain. (Measured with the rows gathered one
/// column at a time; in registers, sixteen columns at a time, d = 16 then took 0.96-1.11 ms against
/// 1.08-1.20, d = 32 2.67-2.68 against 2.95-2.98 and d = 96 14.0-14.5 against 15.2-16.2.)
const MAX_D: usize = 96;

/// Whether the lane pass runs for `l` here: d at most [`MAX_D`], on a CPU with AVX-512 (else it would
/// call a software fused multiply-add per element; the row-major pass gives the same bits).
fn takes(l: &Layout) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        l.d <= MAX_D && std::arch::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (l, MAX_D);
        false
    }
}

/// Each block's weight matrices in panels for the lane pass's products ([`panels`]), block after block:
/// q, k and v (each d outputs of d), o (d of d), gate and up (2 hidden of d), down (d of hidden).
/// Nothing where the lane pass does not run ([`takes`]).
pub(super) fn weight_panels(l: &Layout, w: &[f32], out: &mut Vec<f32>) {
    out.clear();
    if !takes(l) {
        return;
    }
    for blk in 0..l.depth {
        for (first, last, k) in [
            (Q, Q, l.d),
            (K, K, l.d),
            (V, V, l.d),
            (O, O, l.d),
            (W1, W3, l.d),
            (W2, W2, l.hidden),
        ] {
            panels(&w[l.span(l.bslot(blk, first), l.bslot(blk, last))], k, out);
        }
    }
}

/// Outputs a product takes together: blocks of 8, then of 4, then single ones (as many of each as fit).
const BLOCKS: [usize; 3] = [8, 4, 1];

/// The weights of matrix `m` (row o: output o's `k` weights) in the order the lane pass's products read
/// them: outputs in blocks ([`BLOCKS`]), each block's weights k-major ([k, block]), so that a product
/// reads its weights in one sequential run (gemm packs its operands for the same reason; a plain
/// transpose, read with the stride of a row, missed the cache from d = 64 on).
fn panels(m: &[f32], k: usize, out: &mut Vec<f32>) {
    let n = m.len() / k;
    let mut o = 0;
    for width in BLOCKS {
        while o + width <= n {
            for kk in 0..k {
                out.extend((o..o + width).map(|j| m[j * k + kk]));
            }
            o += width;
        }
    }
}

/// Block `blk`'s matrices in `wt` ([`weight_panels`]): q, k, v, o, gate and up, down.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
fn block_weights<'a>(l: &Layout, wt: &'a [f32], blk: usize) -> [&'a [f32]; 6] {
    let (d, h) = (l.d, l.hidden);
    let sizes = [d * d, d * d, d * d, d * d, 2 * h * d, h * d];
    let per: usize = sizes.iter().sum();
    let mut b = &wt[blk * per..][..per];
    sizes.map(|n| {
        let (m, rest) = b.split_at(n);
        b = rest;
        m
    })
}

#[cfg(target_arch = "x86_64")]
pub(super) use x86::{LaneWork, suffix};

#[cfg(not(target_arch = "x86_64"))]
pub(super) use portable::{LaneWork, suffix};

#[cfg(not(target_arch = "x86_64"))]
mod portable {
    use super::super::{Layout, T, Tables, Work};

    #[derive(Default)]
    pub(in super::super) struct LaneWork;

    /// No lane pass here: the row-major pass runs.
    pub(in super::super) fn suffix(
        _: &Layout,
        _: &[f32],
        _: &mut Work,
        _: &[[u32; T]],
        _: &Tables,
        _: &[u32],
    ) -> bool {
        false
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::super::super::transformer_params::NORM_EPS;
    use super::super::{ATTN_NORM, FFN_NORM, Layout, SHARED, T, Tables, Work, resize};
    use super::{BLOCKS, LANES, block_weights, takes};
    use std::arch::x86_64::*;

    /// One value of each of [`LANES`] examples.
    type Lane = __m512;
    /// Positions each example computes: 2 and 3.
    const S: usize = T - SHARED;

    /// The lane pass's buffers (one group of [`LANES`] examples).
    #[derive(Default)]
    pub(in super::super) struct LaneWork {
        /// `[T, 3d]`: q, k and v of every position: the keys and values a block attends to, its queries.
        rows: Vec<Lane>,
        /// `[S, d]`: a block's input at positions 2 and 3.
        x: Vec<Lane>,
        /// `[S, d]`: its output at its query positions.
        y: Vec<Lane>,
        /// `[d]`: a row normed.
        h: Vec<Lane>,
        /// `[d]`: a query row's attention context.
        ctx: Vec<Lane>,
        /// `[d]`: the residual after attention.
        xm: Vec<Lane>,
        /// `[2 hidden]`: gate, then up projection.
        a: Vec<Lane>,
        /// `[hidden]`.
        hid: Vec<Lane>,
    }

    /// [`Layout::suffix_body`] by lanes where the lane pass runs ([`takes`]; the same bits: see the
    /// module's comment): every sequence's last position after the last block into
    /// `ws.out`, then the head into `ws.logits`. `false`, having done nothing, otherwise.
    pub(in super::super) fn suffix(
        l: &Layout,
        w: &[f32],
        ws: &mut Work,
        seqs: &[[u32; T]],
        tables: &Tables,
        which: &[u32],
    ) -> bool {
        if !takes(l) {
            return false;
        }
        // SAFETY: the CPU has AVX-512F (`takes` checked it).
        unsafe { body(l, w, ws, seqs, tables, which) };
        true
    }

    #[target_feature(enable = "avx512f")]
    fn body(
        l: &Layout,
        w: &[f32],
        ws: &mut Work,
        seqs: &[[u32; T]],
        tables: &Tables,
        which: &[u32],
    ) {
        let (b, d) = (seqs.len(), l.d);
        resize(&mut ws.out, b * d);
        let lw = &mut ws.lanes;
        for (v, n) in [
            (&mut lw.rows, T * 3 * d),
            (&mut lw.x, S * d),
            (&mut lw.y, S * d),
            (&mut lw.h, d),
            (&mut lw.ctx, d),
            (&mut lw.xm, d),
            (&mut lw.a, 2 * l.hidden),
            (&mut lw.hid, l.hidden),
        ] {
            v.resize(n, _mm512_setzero_ps());
        }
        for first in (0..b).step_by(LANES) {
            // a short last group repeats its last sequence in the spare lanes
            let mut ex = [0; LANES];
            for (i, e) in ex.iter_mut().enumerate() {
                *e = (first + i).min(b - 1);
            }
            group(l, w, lw, seqs, tables, which, &ex);
            // after the last block, x holds position 3
            for (j, &x) in lw.x[..d].iter().enumerate() {
                for (i, v) in store(x).into_iter().enumerate().take(b - first) {
                    ws.out[(first + i) * d + j] = v;
                }
            }
        }
        l.head(w, ws, b);
    }

    /// 16 floats into a register.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn load(a: &[f32; LANES]) -> Lane {
        // SAFETY: `a` holds the 16 floats the load reads.
        unsafe { _mm512_loadu_ps(a.as_ptr()) }
    }

    /// A register's 16 floats.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn store(v: Lane) -> [f32; LANES] {
        let mut a = [0.0; LANES];
        // SAFETY: `a` has room for the 16 floats the store writes.
        unsafe { _mm512_storeu_ps(a.as_mut_ptr(), v) };
        a
    }

    /// Column `c` of the rows `src(i)` ([`LANES`] of them) into `dst[c]`, for each c in `cols`: sixteen
    /// columns at a time in registers ([`transpose16`]), the rest one by one. (One by one throughout,
    /// sixteen scalar stores and then a load that could not take them from the store buffer, it was a
    /// quarter of the pass's time.)
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn transpose<'a>(
        dst: &mut [Lane],
        cols: std::ops::Range<usize>,
        src: impl Fn(usize) -> &'a [f32],
    ) {
        let rows: [&[f32]; LANES] = std::array::from_fn(|i| &src(i)[..cols.end]);
        let mut c = cols.start;
        while c + LANES <= cols.end {
            let block: [Lane; LANES] = std::array::from_fn(|i| {
                let row: &[f32; LANES] = rows[i][c..c + LANES].try_into().unwrap_or_else(|_| {
                    unreachable!("a slice of LANES floats converts to an array of them")
                });
                load(row)
            });
            dst[c..c + LANES].copy_from_slice(&transpose16(block));
            c += LANES;
        }
        for c in c..cols.end {
            let mut a = [0.0; LANES];
            for (ai, r) in a.iter_mut().zip(&rows) {
                *ai = r[c];
            }
            dst[c] = load(&a);
        }
    }

    /// The 16 x 16 transpose of `r` (register i holds row i; register j of the result, column j), in
    /// four rounds of shuffles: floats of row pairs interleaved, then pairs of floats of row quadruples,
    /// then 128-bit quarters twice.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn transpose16(r: [Lane; LANES]) -> [Lane; LANES] {
        // t[2k], t[2k + 1]: rows 2k and 2k + 1 interleaved, each 128-bit quarter q holding columns
        // 4q, 4q + 1 (t[2k]) or 4q + 2, 4q + 3 (t[2k + 1])
        let t: [Lane; LANES] = std::array::from_fn(|i| {
            let (a, b) = (r[i & !1], r[i | 1]);
            if i % 2 == 0 {
                _mm512_unpacklo_ps(a, b)
            } else {
                _mm512_unpackhi_ps(a, b)
            }
        });
        // u[4k + j]: quarter q holds column 4q + j of rows 4k..4k + 4
        let u: [Lane; LANES] = std::array::from_fn(|i| {
            let (k, j) = (i / 4, i % 4);
            let (a, b) = (
                _mm512_castps_pd(t[4 * k + j / 2]),
                _mm512_castps_pd(t[4 * k + 2 + j / 2]),
            );
            _mm512_castpd_ps(if j % 2 == 0 {
                _mm512_unpacklo_pd(a, b)
            } else {
                _mm512_unpackhi_pd(a, b)
            })
        });
        let mut out = [_mm512_setzero_ps(); LANES];
        for j in 0..4 {
            let (a, b, c, e) = (u[j], u[4 + j], u[8 + j], u[12 + j]);
            // even quarters (0x88) or odd ones (0xdd) of two registers, side by side
            let v0 = _mm512_shuffle_f32x4::<0x88>(a, b);
            let v1 = _mm512_shuffle_f32x4::<0xdd>(a, b);
            let v2 = _mm512_shuffle_f32x4::<0x88>(c, e);
            let v3 = _mm512_shuffle_f32x4::<0xdd>(c, e);
            out[j] = _mm512_shuffle_f32x4::<0x88>(v0, v2);
            out[8 + j] = _mm512_shuffle_f32x4::<0xdd>(v0, v2);
            out[4 + j] = _mm512_shuffle_f32x4::<0x88>(v1, v3);
            out[12 + j] = _mm512_shuffle_f32x4::<0xdd>(v1, v3);
        }
        out
    }

    /// The blocks over one group: sequence `ex[i]` in lane i. Leaves the last block's output in `lw.x`.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn group(
        l: &Layout,
        w: &[f32],
        lw: &mut LaneWork,
        seqs: &[[u32; T]],
        tables: &Tables,
        which: &[u32],
        ex: &[usize; LANES],
    ) {
        let (d, d3) = (l.d, 3 * l.d);
        let embed = &w[l.slot(0)];
        for r in 0..S {
            let src = |i: usize| &embed[seqs[ex[i]][SHARED + r] as usize * d..][..d];
            transpose(&mut lw.x[r * d..][..d], 0..d, src);
        }
        for blk in 0..l.depth {
            let [wq, wk, wv, wo, w13, w2] = block_weights(l, &tables.weights, blk);
            let tq = l.tq(blk).min(S);
            // q is read at the query positions alone
            let from = |u: usize| if u < T - tq { d } else { 0 };
            if blk == 0 {
                let token = l.token_rows(&tables.tokens, seqs);
                for (u, rows) in lw.rows.chunks_exact_mut(d3).enumerate() {
                    transpose(rows, from(u)..d3, |i| token(ex[i], u));
                }
            } else {
                let prefix = &tables.rows[blk - 1];
                for u in 0..SHARED {
                    let src = |i: usize| &prefix[(which[ex[i]] as usize * SHARED + u) * d3..][..d3];
                    transpose(&mut lw.rows[u * d3..][..d3], d..d3, src);
                }
                let gamma = &w[l.slot(l.bslot(blk, ATTN_NORM))];
                for r in 0..S {
                    let u = SHARED + r;
                    rms(&lw.x[r * d..][..d], gamma, &mut lw.h);
                    let with_q = from(u) == 0;
                    let row = &mut lw.rows[u * d3..][..d3];
                    let (q, kv) = row.split_at_mut(d);
                    if with_q {
                        chain(q, &lw.h, wq, None);
                    }
                    let (k, v) = kv.split_at_mut(d);
                    chain(k, &lw.h, wk, None);
                    chain(v, &lw.h, wv, None);
                    rotate(l, row, u, with_q);
                }
            }
            let gamma = &w[l.slot(l.bslot(blk, FFN_NORM))];
            for (i, t) in (T - tq..T).enumerate() {
                attend(l, &lw.rows, t, &mut lw.ctx);
                let x = &lw.x[(t - SHARED) * d..][..d];
                chain(&mut lw.xm, &lw.ctx, wo, Some(x));
                rms(&lw.xm, gamma, &mut lw.h);
                chain(&mut lw.a, &lw.h, w13, None);
                swiglu(&mut lw.hid, &lw.a);
                chain(&mut lw.y[i * d..][..d], &lw.hid, w2, Some(&lw.xm));
            }
            // the outputs (positions T - tq..T) are the next block's input
            std::mem::swap(&mut lw.x, &mut lw.y);
        }
    }

    /// `rotate` (the row-major pass's rotary encoding) of a position's k, and of its q when `with_q`,
    /// in `row` (`[3d]`).
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn rotate(l: &Layout, row: &mut [Lane], t: usize, with_q: bool) {
        let (d, hd) = (l.d, l.hd);
        let half = hd / 2;
        let (cos, sin) = (&l.cos[t * hd..][..hd], &l.sin[t * hd..][..hd]);
        let parts: &[usize] = if with_q { &[0, d] } else { &[d] };
        for &part in parts {
            for head in row[part..][..d].chunks_exact_mut(hd) {
                let (x1, x2) = head.split_at_mut(half);
                for (j, (a, b)) in x1.iter_mut().zip(x2.iter_mut()).enumerate() {
                    let c1 = _mm512_set1_ps(cos[j]);
                    let c2 = _mm512_set1_ps(cos[half + j]);
                    let s1 = _mm512_set1_ps(sin[j]);
                    let s2 = _mm512_set1_ps(sin[half + j]);
                    let (va, vb) = (*a, *b);
                    // a = va c1 + (-vb) s1, b = vb c2 + va s2
                    let neg_vb = _mm512_sub_ps(_mm512_set1_ps(-0.0), vb);
                    *a = _mm512_add_ps(_mm512_mul_ps(va, c1), _mm512_mul_ps(neg_vb, s1));
                    *b = _mm512_add_ps(_mm512_mul_ps(vb, c2), _mm512_mul_ps(va, s2));
                }
            }
        }
    }

    /// `attention_examples` (the row-major pass's attention) of query position `t`, every head, from
    /// the rows of every position (`[T, 3d]`): its context into `ctx` (`[d]`).
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn attend(l: &Layout, rows: &[Lane], t: usize, ctx: &mut [Lane]) {
        let (d, hd, d3) = (l.d, l.hd, 3 * l.d);
        let scale = _mm512_set1_ps((1.0 / (hd as f64).sqrt()) as f32);
        for h in 0..l.heads {
            let q = &rows[t * d3 + h * hd..][..hd];
            let mut att = [_mm512_setzero_ps(); T];
            let mut max = _mm512_set1_ps(f32::NEG_INFINITY);
            for (u, score) in att.iter_mut().enumerate().take(t + 1) {
                let k = &rows[u * d3 + d + h * hd..][..hd];
                // in dimension order from -0.0, as `dot`
                let mut sum = _mm512_set1_ps(-0.0);
                for (&qj, &kj) in q.iter().zip(k) {
                    sum = _mm512_add_ps(sum, _mm512_mul_ps(qj, kj));
                }
                *score = _mm512_mul_ps(sum, scale);
                max = max_like_f32(max, *score);
            }
            let mut total = _mm512_setzero_ps();
            for score in &mut att[..=t] {
                *score = exp(_mm512_sub_ps(*score, max));
                total = _mm512_add_ps(total, *score);
            }
            for a in &mut att[..=t] {
                *a = _mm512_div_ps(*a, total);
            }
            let c = &mut ctx[h * hd..][..hd];
            c.fill(_mm512_setzero_ps());
            for (u, &a) in att[..=t].iter().enumerate() {
                let v = &rows[u * d3 + 2 * d + h * hd..][..hd];
                for (cj, &vj) in c.iter_mut().zip(v) {
                    *cj = _mm512_add_ps(*cj, _mm512_mul_ps(a, vj));
                }
            }
        }
    }

    /// `f32::max` lane by lane: the larger; the other when one is NaN.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn max_like_f32(a: Lane, b: Lane) -> Lane {
        // vmaxps gives its second operand when either is NaN: take a NaN b's place by a first
        let nan_b = _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(b, b);
        let m = _mm512_max_ps(a, b);
        _mm512_mask_mov_ps(m, nan_b, a)
    }

    /// `rms_rows` (the row-major pass's RMSNorm) of one row of each lane: `x` (`[d]`) normed into `h`.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn rms(x: &[Lane], gamma: &[f32], h: &mut [Lane]) {
        let d = gamma.len();
        let mut sum = _mm512_set1_ps(-0.0);
        for &xj in &x[..d] {
            sum = _mm512_add_ps(sum, _mm512_mul_ps(xj, xj));
        }
        let mean = _mm512_div_ps(sum, _mm512_set1_ps(d as f32));
        let root = _mm512_sqrt_ps(_mm512_add_ps(mean, _mm512_set1_ps(NORM_EPS as f32)));
        let inv = _mm512_div_ps(_mm512_set1_ps(1.0), root);
        for ((hj, &xj), &g) in h.iter_mut().zip(x).zip(gamma) {
            *hj = _mm512_mul_ps(_mm512_mul_ps(xj, inv), _mm512_set1_ps(g));
        }
    }

    /// `swiglu_eval` of one row: `hid` = silu(gate) up from `a` = [gate, up].
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn swiglu(hid: &mut [Lane], a: &[Lane]) {
        let (gate, up) = a.split_at(hid.len());
        let one = _mm512_set1_ps(1.0);
        for ((hj, &g), &u) in hid.iter_mut().zip(gate).zip(up) {
            let neg = _mm512_sub_ps(_mm512_set1_ps(-0.0), g);
            let sg = _mm512_div_ps(one, _mm512_add_ps(one, exp(neg)));
            *hj = _mm512_mul_ps(_mm512_mul_ps(g, sg), u);
        }
    }

    /// `linalg::exp` lane by lane, the same operations in the same order.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn exp(x: Lane) -> Lane {
        const LOG2E: f32 = std::f32::consts::LOG2_E;
        const LN2_HI: f32 = 0.693_359_4;
        const LN2_LO: f32 = -2.121_944_4e-4;
        const ROUND: f32 = 12_582_912.0;
        let c = _mm512_set1_ps;
        let (add, sub, mul) = (_mm512_add_ps, _mm512_sub_ps, _mm512_mul_ps);
        // x.clamp(-87, 88): a NaN stays NaN (vmaxps/vminps give the second operand then)
        let x = _mm512_min_ps(c(88.0), _mm512_max_ps(c(-87.0), x));
        let shifted = add(mul(x, c(LOG2E)), c(ROUND));
        let n = sub(shifted, c(ROUND));
        let r = sub(sub(x, mul(n, c(LN2_HI))), mul(n, c(LN2_LO)));
        let mut p = add(mul(c(1.987_569_1e-4), r), c(1.398_2e-3));
        p = add(mul(p, r), c(8.333_452e-3));
        p = add(mul(p, r), c(4.166_579_6e-2));
        p = add(mul(p, r), c(1.666_666_5e-1));
        p = add(mul(p, r), c(0.5));
        let y = add(add(mul(mul(p, r), r), r), c(1.0));
        let n_bits = _mm512_sub_epi32(
            _mm512_castps_si512(shifted),
            _mm512_set1_epi32(ROUND.to_bits() as i32),
        );
        let scale = _mm512_slli_epi32::<23>(_mm512_add_epi32(n_bits, _mm512_set1_epi32(127)));
        mul(y, _mm512_castsi512_ps(scale))
    }

    /// `out[o]` = (`base[o]` +) the product of `x` (`[k]`) with output o's weights in `panel` (a matrix
    /// of out.len() outputs in [`super::panels`]), each a chain of fused multiply-adds over k in order
    /// from +0: the element `gemm` computes.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn chain(out: &mut [Lane], x: &[Lane], panel: &[f32], base: Option<&[Lane]>) {
        let (n, k) = (out.len(), x.len());
        let mut o = 0;
        for width in BLOCKS {
            while o + width <= n {
                let weights = &panel[o * k..][..width * k];
                match width {
                    8 => chain_block::<8>(out, x, weights, base, o),
                    4 => chain_block::<4>(out, x, weights, base, o),
                    _ => chain_block::<1>(out, x, weights, base, o),
                }
                o += width;
            }
        }
    }

    /// [`chain`] of outputs `o..o + M` from their weights ([k, M]) (M chains side by side, so that the
    /// adder does not wait on one).
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn chain_block<const M: usize>(
        out: &mut [Lane],
        x: &[Lane],
        weights: &[f32],
        base: Option<&[Lane]>,
        o: usize,
    ) {
        let mut acc = [_mm512_setzero_ps(); M];
        for (&xk, wk) in x.iter().zip(weights.chunks_exact(M)) {
            for (acc, &wv) in acc.iter_mut().zip(wk) {
                *acc = _mm512_fmadd_ps(xk, _mm512_set1_ps(wv), *acc);
            }
        }
        for (m, &acc) in acc.iter().enumerate() {
            out[o + m] = match base {
                Some(base) => _mm512_add_ps(base[o + m], acc),
                None => acc,
            };
        }
    }
}
