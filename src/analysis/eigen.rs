//! Eigen-decomposition of small symmetric matrices by cyclic Jacobi rotations.
//!
//! The insight views need the top two principal components of a p x d embedding (p, d up to a few
//! hundred), a few times a second at most. Jacobi is short, needs no dependency, is unconditionally stable
//! and handles the repeated eigenvalues a ring produces (its two leading components have equal variance,
//! where power iteration would converge arbitrarily slowly to the third). Cost: about 2 n^3 flops a sweep,
//! 6-10 sweeps; n = 128 takes a few milliseconds.

/// Eigenvalues (largest first) and unit eigenvectors of a symmetric matrix.
#[derive(Clone, Debug, PartialEq)]
pub struct SymmetricEigen {
    /// Eigenvalues in decreasing order.
    pub values: Vec<f64>,
    /// Eigenvector i in `vectors[i * n..(i + 1) * n]`, in the order of `values`.
    pub vectors: Vec<f64>,
    pub n: usize,
}

impl SymmetricEigen {
    /// Eigenvector i: [n].
    pub fn vector(&self, i: usize) -> &[f64] {
        &self.vectors[i * self.n..][..self.n]
    }
}

/// Most sweeps before giving up on the off-diagonal tolerance (convergence is quadratic; 50 is never hit
/// on well-scaled input).
const MAX_SWEEPS: usize = 50;

/// Decompose the symmetric n x n row-major matrix `a` (only symmetric input gives meaningful output).
pub fn symmetric_eigen(a: &[f64], n: usize) -> SymmetricEigen {
    assert_eq!(a.len(), n * n, "matrix is not n x n");
    let mut m = a.to_vec();
    // v holds the accumulated rotations; its columns become the eigenvectors
    let mut v = vec![0.0; n * n];
    for i in 0..n {
        v[i * n + i] = 1.0;
    }
    let total: f64 = m.iter().map(|x| x * x).sum();
    for _ in 0..MAX_SWEEPS {
        let off: f64 = (0..n)
            .flat_map(|i| (i + 1..n).map(move |j| (i, j)))
            .map(|(i, j)| m[i * n + j] * m[i * n + j])
            .sum();
        if off <= 1e-30 * total || off == 0.0 {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = m[p * n + q];
                if apq == 0.0 {
                    continue;
                }
                // the rotation angle that zeroes m[p][q]: t = tan(phi), the smaller root of
                // t^2 + 2 theta t - 1 = 0 (keeps the rotation below 45 degrees, hence stable)
                let theta = (m[q * n + q] - m[p * n + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                // m <- m J (columns p, q), then J^T m (rows p, q); v <- v J
                for k in 0..n {
                    let (kp, kq) = (m[k * n + p], m[k * n + q]);
                    m[k * n + p] = c * kp - s * kq;
                    m[k * n + q] = s * kp + c * kq;
                }
                for k in 0..n {
                    let (pk, qk) = (m[p * n + k], m[q * n + k]);
                    m[p * n + k] = c * pk - s * qk;
                    m[q * n + k] = s * pk + c * qk;
                }
                for k in 0..n {
                    let (kp, kq) = (v[k * n + p], v[k * n + q]);
                    v[k * n + p] = c * kp - s * kq;
                    v[k * n + q] = s * kp + c * kq;
                }
            }
        }
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| m[j * n + j].total_cmp(&m[i * n + i]).then(i.cmp(&j)));
    let values = order.iter().map(|&i| m[i * n + i]).collect();
    let vectors = order
        .iter()
        .flat_map(|&col| (0..n).map(|row| v[row * n + col]).collect::<Vec<_>>())
        .collect();
    SymmetricEigen { values, vectors, n }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_by_two_by_hand() {
        // [[2, 1], [1, 2]]: eigenvalues 3 and 1 with vectors (1, 1)/sqrt 2 and (1, -1)/sqrt 2 (by hand)
        let e = symmetric_eigen(&[2.0, 1.0, 1.0, 2.0], 2);
        assert!((e.values[0] - 3.0).abs() < 1e-12 && (e.values[1] - 1.0).abs() < 1e-12);
        let r = 0.5f64.sqrt();
        assert!((e.vector(0)[0].abs() - r).abs() < 1e-12);
        assert!((e.vector(0)[0] - e.vector(0)[1]).abs() < 1e-12);
        assert!((e.vector(1)[0] + e.vector(1)[1]).abs() < 1e-12);
    }

    #[test]
    fn reconstructs_a_dense_matrix() {
        // independent check: A v = lambda v for every pair, vectors orthonormal, trace = sum of values
        let n = 9;
        let b: Vec<f64> = (0..n * n)
            .map(|i| ((i * 37 % 23) as f64 - 11.0) / 7.0)
            .collect();
        let a: Vec<f64> = (0..n * n)
            .map(|ij| {
                let (i, j) = (ij / n, ij % n);
                (0..n).map(|k| b[i * n + k] * b[j * n + k]).sum::<f64>()
                    + if i == j { -3.0 } else { 0.0 }
            })
            .collect();
        let e = symmetric_eigen(&a, n);
        for i in 0..n {
            let v = e.vector(i);
            for r in 0..n {
                let av: f64 = (0..n).map(|c| a[r * n + c] * v[c]).sum();
                assert!((av - e.values[i] * v[r]).abs() < 1e-9, "pair {i}");
            }
            for j in 0..n {
                let dot: f64 = v.iter().zip(e.vector(j)).map(|(x, y)| x * y).sum();
                assert!((dot - f64::from(u8::from(i == j))).abs() < 1e-9);
            }
        }
        assert!(e.values.windows(2).all(|w| w[0] >= w[1]));
        let trace: f64 = (0..n).map(|i| a[i * n + i]).sum();
        assert!((trace - e.values.iter().sum::<f64>()).abs() < 1e-9);
    }

    #[test]
    fn repeated_eigenvalues() {
        // diag(5, 5, 1) rotated stays with values 5, 5, 1 (a ring's covariance has this shape)
        let e = symmetric_eigen(&[5.0, 0.0, 0.0, 0.0, 5.0, 0.0, 0.0, 0.0, 1.0], 3);
        assert_eq!(e.values, vec![5.0, 5.0, 1.0]);
        assert_eq!(e.vector(2), &[0.0, 0.0, 1.0]);
    }
}
