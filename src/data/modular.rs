//! Modular arithmetic tasks: (a, b) -> a op b mod p, with the spec's seeded split and token form.

use crate::config::Operation;
use crate::rng::{self, Rng, Stream};

/// Examples as parallel vectors: inputs (a, b) and the answer c.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Examples {
    pub xs: Vec<[u32; 2]>,
    pub ys: Vec<u32>,
}

impl Examples {
    pub fn len(&self) -> usize {
        self.ys.len()
    }
    pub fn is_empty(&self) -> bool {
        self.ys.is_empty()
    }
    /// The examples at these indices, in this order.
    pub fn select(&self, idx: &[usize]) -> Examples {
        Examples {
            xs: idx.iter().map(|&i| self.xs[i]).collect(),
            ys: idx.iter().map(|&i| self.ys[i]).collect(),
        }
    }
}

/// b^e mod p by square-and-multiply.
pub fn pow_mod(mut b: u64, mut e: u64, p: u64) -> u64 {
    let mut r = 1 % p;
    b %= p;
    while e > 0 {
        if e & 1 == 1 {
            r = r * b % p;
        }
        b = b * b % p;
        e >>= 1;
    }
    r
}

/// a op b mod p; for division b must be non-zero (Fermat inverse b^(p-2)).
pub fn apply(op: Operation, a: u32, b: u32, p: u32) -> u32 {
    let (a, b, p) = (a as u64, b as u64, p as u64);
    let c = match op {
        Operation::Add => (a + b) % p,
        Operation::Sub => (a + p - b) % p,
        Operation::Mul => a * b % p,
        Operation::Div => a * pow_mod(b, p - 2, p) % p,
    };
    c as u32
}

/// Number of examples of the task (defined with the operations, in [`crate::config`]).
pub use crate::config::task_size;

/// Every example of the task in lexicographic (a, b) order: p^2, or p(p-1) for division (b from 1).
pub fn all_examples(op: Operation, p: u32) -> Examples {
    let b_start = match op {
        Operation::Div => 1,
        Operation::Add | Operation::Sub | Operation::Mul => 0,
    };
    let mut ex = Examples::default();
    for a in 0..p {
        for b in b_start..p {
            ex.xs.push([a, b]);
            ex.ys.push(apply(op, a, b, p));
        }
    }
    ex
}

/// The task split by a seeded permutation: the first floor(fraction * n) train, the rest validate.
#[derive(Clone, Debug, PartialEq)]
pub struct ModularSplit {
    pub p: u32,
    pub op: Operation,
    pub train: Examples,
    pub val: Examples,
}

pub fn split(op: Operation, p: u32, train_fraction: f64, seed: u64) -> ModularSplit {
    let all = all_examples(op, p);
    let n = all.len();
    let n_train = (train_fraction * n as f64).floor() as usize;
    let mut r: Rng = rng::stream(seed, Stream::Split);
    let perm = rng::permutation(n, &mut r);
    ModularSplit {
        p,
        op,
        train: all.select(&perm[..n_train]),
        val: all.select(&perm[n_train..]),
    }
}

/// The transformer's token form `[a, OP, b, EQ]` with OP = p and EQ = p + 1 (vocabulary p + 2).
pub fn tokens(x: [u32; 2], p: u32) -> [u32; 4] {
    [x[0], p, x[1], p + 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_follow_the_spec() {
        // p^2 pairs, and p(p-1) for division because b = 0 has no inverse
        for op in Operation::ALL {
            let n = all_examples(op, 7).len();
            let want = if op == Operation::Div { 7 * 6 } else { 49 };
            assert_eq!(n, want, "{op}");
        }
    }

    #[test]
    fn answers_by_hand_mod_7() {
        // worked by hand: 5+4=9=2, 2-5=-3=4, 3*5=15=1, 3/5: 5*3=15=1 so 5^-1=3, 3*3=9=2
        assert_eq!(apply(Operation::Add, 5, 4, 7), 2);
        assert_eq!(apply(Operation::Sub, 2, 5, 7), 4);
        assert_eq!(apply(Operation::Mul, 3, 5, 7), 1);
        assert_eq!(apply(Operation::Div, 3, 5, 7), 2);
    }

    #[test]
    fn division_inverts_multiplication() {
        // independent check: (a / b) * b == a for every pair, by the definition of division
        let p = 23;
        let ex = all_examples(Operation::Div, p);
        for (x, &c) in ex.xs.iter().zip(&ex.ys) {
            assert_eq!(apply(Operation::Mul, c, x[1], p), x[0]);
        }
    }

    #[test]
    fn split_is_a_seeded_partition() {
        let s = split(Operation::Add, 11, 0.3, 5);
        assert_eq!(s.train.len(), (0.3f64 * 121.0).floor() as usize);
        assert_eq!(s.train.len() + s.val.len(), 121);
        let mut all: Vec<[u32; 2]> = s.train.xs.iter().chain(&s.val.xs).copied().collect();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 121, "every pair exactly once");
        assert_eq!(
            s,
            split(Operation::Add, 11, 0.3, 5),
            "same seed, same split"
        );
        assert_ne!(s.train, split(Operation::Add, 11, 0.3, 6).train);
    }

    #[test]
    fn token_form() {
        assert_eq!(tokens([3, 4], 97), [3, 97, 4, 98]);
    }
}
