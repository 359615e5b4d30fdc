//! TEMPORARY stand-in for `crate::analysis::orderedness` (written in another branch), with the same
//! signatures, so the Ordering lab builds and tests before the merge. The lead deletes this file at merge
//! and points the two `use` lines (experiment/ordering.rs, cli_ordering.rs) at the real module.

/// How the ordering was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// Dynamic programming over subsets.
    Exact,
    /// Greedy order improved by adjacent swaps.
    Heuristic,
}

/// The best ordering found for a square non-negative matrix.
#[derive(Clone, Debug, PartialEq)]
pub struct Ordering {
    pub d: f64,
    /// Neurons first to last; senders come before their receivers where possible.
    pub order: Vec<usize>,
    /// Weight on backward connections (sender after receiver), self-loops excluded.
    pub backward: f64,
    /// Sum of all entries, self-loops included.
    pub total: f64,
    pub method: Method,
}

/// A refused matrix.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum OrderError {
    #[error("the matrix is empty")]
    Empty,
    #[error("{0}")]
    Bad(String),
}

const EXACT_UP_TO: usize = 16;

/// Orderedness D of a row-major n x n non-negative matrix (row = receiver, column = sender).
pub fn orderedness(a: &[f64], n: usize) -> Result<Ordering, OrderError> {
    if n == 0 {
        return Err(OrderError::Empty);
    }
    if a.len() != n * n {
        return Err(OrderError::Bad(format!(
            "{} entries is not a {n} x {n} matrix",
            a.len()
        )));
    }
    if let Some(v) = a.iter().find(|v| !(v.is_finite() && **v >= 0.0)) {
        return Err(OrderError::Bad(format!(
            "{v} is not a finite non-negative weight"
        )));
    }
    let total: f64 = a.iter().sum();
    let (order, method) = if n <= EXACT_UP_TO {
        (exact(a, n), Method::Exact)
    } else {
        (heuristic(a, n), Method::Heuristic)
    };
    let backward = backward_weight(a, n, &order);
    let d = if total > 0.0 {
        1.0 - backward / total
    } else {
        1.0
    };
    Ok(Ordering {
        d,
        order,
        backward,
        total,
        method,
    })
}

fn backward_weight(a: &[f64], n: usize, order: &[usize]) -> f64 {
    let mut pos = vec![0; n];
    for (p, &v) in order.iter().enumerate() {
        pos[v] = p;
    }
    let mut s = 0.0;
    for r in 0..n {
        for c in 0..n {
            if pos[c] > pos[r] {
                s += a[r * n + c];
            }
        }
    }
    s
}

/// f(S) = least backward weight placing the set S first; appending v after S costs sum_{r in S} A[r, v].
fn exact(a: &[f64], n: usize) -> Vec<usize> {
    let full = 1usize << n;
    let mut f = vec![f64::INFINITY; full];
    let mut from = vec![0usize; full];
    f[0] = 0.0;
    for s in 0..full {
        if !f[s].is_finite() {
            continue;
        }
        for v in 0..n {
            if s & (1 << v) != 0 {
                continue;
            }
            let cost: f64 = (0..n)
                .filter(|r| s & (1 << r) != 0)
                .map(|r| a[r * n + v])
                .sum();
            let t = s | (1 << v);
            if f[s] + cost < f[t] {
                f[t] = f[s] + cost;
                from[t] = v;
            }
        }
    }
    let mut order = Vec::with_capacity(n);
    let mut s = full - 1;
    while s != 0 {
        let v = from[s];
        order.push(v);
        s &= !(1 << v);
    }
    order.reverse();
    order
}

fn heuristic(a: &[f64], n: usize) -> Vec<usize> {
    // sources first: sort by (weight sent - weight received), then swap neighbours while it helps
    let score = |v: usize| -> f64 {
        let sent: f64 = (0..n).map(|r| a[r * n + v]).sum();
        let received: f64 = (0..n).map(|c| a[v * n + c]).sum();
        sent - received
    };
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&x, &y| score(y).total_cmp(&score(x)).then(x.cmp(&y)));
    let mut improved = true;
    while improved {
        improved = false;
        for i in 0..n - 1 {
            let (x, y) = (order[i], order[i + 1]);
            // swapping turns the edge y -> x (backward now) forward and x -> y backward
            if a[x * n + y] > a[y * n + x] {
                order.swap(i, i + 1);
                improved = true;
            }
        }
    }
    order
}

/// A square matrix from CSV text: one row a line, comma separated; blank lines skipped.
pub fn parse_matrix_csv(text: &str) -> Result<(Vec<f64>, usize), OrderError> {
    let mut values = vec![];
    let mut rows = 0;
    let mut width = None;
    for (li, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let mut count = 0;
        for (ci, cell) in line.split(',').enumerate() {
            let cell = cell.trim();
            let v: f64 = cell.parse().map_err(|_| {
                OrderError::Bad(format!(
                    "line {}, column {}: {cell:?} is not a number",
                    li + 1,
                    ci + 1
                ))
            })?;
            if !v.is_finite() {
                return Err(OrderError::Bad(format!(
                    "line {}, column {}: {cell} is not finite",
                    li + 1,
                    ci + 1
                )));
            }
            values.push(v);
            count += 1;
        }
        match width {
            None => width = Some(count),
            Some(w) if w != count => {
                return Err(OrderError::Bad(format!(
                    "line {} has {count} values but the first row has {w}",
                    li + 1
                )));
            }
            Some(_) => {}
        }
        rows += 1;
    }
    let Some(w) = width else {
        return Err(OrderError::Empty);
    };
    if w != rows {
        return Err(OrderError::Bad(format!(
            "the matrix is {rows} x {w}; it must be square"
        )));
    }
    Ok((values, rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dag_has_d_one_and_a_two_cycle_d_one_half() {
        // 1 <- 0 (A[1][0] = 2) and 2 <- 1: a chain, D = 1 with order 0, 1, 2
        let a = [0., 0., 0., 2., 0., 0., 0., 3., 0.];
        let o = orderedness(&a, 3).unwrap();
        assert_eq!((o.d, o.order.clone()), (1.0, vec![0, 1, 2]));
        // 0 <-> 1 with equal weights: one of the two is backward, D = 1/2
        let o = orderedness(&[0., 1., 1., 0.], 2).unwrap();
        assert_eq!(o.d, 0.5);
        assert_eq!(heuristic(&a, 3), [0, 1, 2]);
    }

    #[test]
    fn parse_refuses_bad_text() {
        assert_eq!(
            parse_matrix_csv("1, 2\n3,4\n").unwrap(),
            (vec![1., 2., 3., 4.], 2)
        );
        assert!(parse_matrix_csv("").is_err());
        assert!(parse_matrix_csv("1,2\n").is_err());
        assert!(parse_matrix_csv("abc").is_err());
        assert!(parse_matrix_csv("NaN").is_err());
    }
}
