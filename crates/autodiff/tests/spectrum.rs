//! Lanczos, stochastic Lanczos quadrature and Hutchinson against dense
//! eigendecompositions of explicit symmetric matrices.

use gradus_autodiff::{LanczosOptions, density, hutchinson, lanczos, lanczos_quadrature};
use gradus_tensor::Tensor;
use proptest::prelude::*;
use rand::{Rng, SeedableRng, rngs::StdRng};

/// A random symmetric n×n matrix (row-major) with entries in [−1, 1).
fn symmetric(n: usize, seed: u64) -> Vec<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut a = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let x = rng.random_range(-1.0..1.0);
            a[i * n + j] = x;
            a[j * n + i] = x;
        }
    }
    a
}

fn product(a: &[f64], n: usize) -> impl Fn(&[f64]) -> Result<Vec<f64>, String> + '_ {
    move |v: &[f64]| Ok((0..n).map(|i| (0..n).map(|j| a[i * n + j] * v[j]).sum()).collect())
}

/// Eigenvalues ascending and eigenvectors (column j of the `[n, n]` result).
fn dense(a: &[f64], n: usize) -> (Vec<f64>, Vec<f64>) {
    let (values, vectors) = Tensor::from_vec(a.to_vec(), &[n, n]).unwrap().eigh().unwrap();
    (values.to_vec(), vectors.contiguous().to_vec())
}

fn start(n: usize, seed: u64) -> Vec<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n).map(|_| rng.random_range(-1.0..1.0)).collect()
}

#[test]
fn top_eigenpairs_equal_the_dense_ones() {
    let n = 40;
    let a = symmetric(n, 1);
    let (values, _) = dense(&a, n);
    let options = LanczosOptions { top: 3, max_steps: n, tol: 1e-12 };
    let ritz = lanczos(&start(n, 2), &options, product(&a, n)).unwrap();
    assert!(ritz.converged);
    assert!(ritz.products <= n);
    for k in 0..3 {
        let want = values[n - 1 - k];
        assert!((ritz.values[k] - want).abs() <= 1e-10 * want.abs(), "λ{k}: {} vs {want}", ritz.values[k]);
        // A unit eigenvector: ‖Ay − λy‖ ≤ its residual bound (and small).
        let y = &ritz.vectors[k];
        let ay = product(&a, n)(y).unwrap();
        let norm: f64 = y.iter().map(|x| x * x).sum::<f64>().sqrt();
        let r: f64 = ay.iter().zip(y).map(|(p, x)| (p - want * x).powi(2)).sum::<f64>().sqrt();
        assert!((norm - 1.0).abs() < 1e-10 && r < 1e-8, "‖y‖ {norm}, residual {r}");
    }
}

#[test]
fn a_clustered_top_is_found_before_the_dimension() {
    // diag(1…200) with the top three pulled away: Lanczos finds them in
    // far fewer products than 200.
    let n = 200;
    let diag: Vec<f64> = (0..n).map(|i| if i >= n - 3 { 1000.0 + i as f64 } else { (i % 50) as f64 }).collect();
    let apply = |v: &[f64]| Ok::<_, ()>(v.iter().zip(&diag).map(|(x, d)| x * d).collect());
    let options = LanczosOptions { top: 3, max_steps: 100, tol: 1e-10 };
    let ritz = lanczos(&start(n, 3), &options, apply).unwrap();
    assert!(ritz.converged && ritz.products < 60, "{} products", ritz.products);
    assert_eq!(ritz.values.len(), 3);
    for (k, want) in [1199.0, 1198.0, 1197.0].iter().enumerate() {
        assert!((ritz.values[k] - want).abs() < 1e-7, "{:?}", ritz.values);
    }
    assert!(ritz.residuals.iter().all(|r| *r <= 1e-10 * 1199.0));
}

#[test]
fn an_invariant_start_stops_exactly() {
    // The start vector is an eigenvector: one product, exact.
    let apply = |v: &[f64]| Ok::<_, ()>(vec![3.0 * v[0], -v[1]]);
    let ritz = lanczos(&[2.0, 0.0], &LanczosOptions { top: 2, ..Default::default() }, apply).unwrap();
    assert_eq!((ritz.values.clone(), ritz.products, ritz.converged), (vec![3.0], 1, true));
    // The zero operator from a zero start.
    let zero = |v: &[f64]| Ok::<_, ()>(vec![0.0; v.len()]);
    let ritz = lanczos(&[0.0; 4], &LanczosOptions::default(), zero).unwrap();
    assert_eq!(ritz.values, vec![0.0]);
}

#[test]
fn the_operator_error_is_returned() {
    let a = symmetric(4, 12);
    let mut calls = 0;
    let failing = |v: &[f64]| {
        calls += 1;
        if calls == 3 { Err("product 3 failed".to_string()) } else { product(&a, 4)(v) }
    };
    assert_eq!(lanczos(&start(4, 13), &LanczosOptions::default(), failing).unwrap_err(), "product 3 failed");
}

#[test]
fn f32_vectors_agree_with_f64() {
    let n = 30;
    let a = symmetric(n, 4);
    let (values, _) = dense(&a, n);
    let a32: Vec<f32> = a.iter().map(|x| *x as f32).collect();
    let apply = |v: &[f32]| Ok::<_, ()>((0..n).map(|i| (0..n).map(|j| a32[i * n + j] * v[j]).sum()).collect());
    let s: Vec<f32> = start(n, 5).iter().map(|x| *x as f32).collect();
    let ritz = lanczos(&s, &LanczosOptions { top: 2, max_steps: n, tol: 1e-6 }, apply).unwrap();
    for k in 0..2 {
        assert!((ritz.values[k] - values[n - 1 - k]).abs() < 1e-4, "{:?} vs {:?}", ritz.values, &values[n - 2..]);
    }
}

#[test]
fn a_full_quadrature_has_the_eigenvalues_as_nodes() {
    let n = 12;
    let a = symmetric(n, 6);
    let (values, vectors) = dense(&a, n);
    let q = start(n, 7);
    let quad = lanczos_quadrature(&q, n, product(&a, n)).unwrap();
    let qn: f64 = q.iter().map(|x| x * x).sum::<f64>().sqrt();
    for j in 0..n {
        assert!((quad.nodes[j] - values[j]).abs() < 1e-10, "{:?} vs {values:?}", quad.nodes);
        // The weight of λ_j is (u_jᵀq)² for the unit start q.
        let c: f64 = (0..n).map(|i| vectors[i * n + j] * q[i] / qn).sum();
        assert!((quad.weights[j] - c * c).abs() < 1e-10);
    }
    assert!((quad.weights.iter().sum::<f64>() - 1.0).abs() < 1e-12);
}

#[test]
fn the_density_integrates_to_one_and_keeps_the_mean() {
    let n = 60;
    let a = symmetric(n, 8);
    let probes: Vec<_> = (0..4).map(|s| lanczos_quadrature(&start(n, 10 + s), 20, product(&a, n)).unwrap()).collect();
    for bins in [200, 1000] {
        let d = density(&probes, bins, 1e-5);
        let step = d.grid[1] - d.grid[0];
        let integral: f64 = d.values.iter().sum::<f64>() * step;
        assert!((integral - 1.0).abs() < 1e-6, "{bins} bins: {integral}");
        // The density's mean is the probes' mean Ritz moment Σ wθ.
        let mean: f64 = d.grid.iter().zip(&d.values).map(|(x, p)| x * p).sum::<f64>() * step;
        let moment: f64 =
            probes.iter().map(|q| q.nodes.iter().zip(&q.weights).map(|(t, w)| t * w).sum::<f64>()).sum::<f64>()
                / probes.len() as f64;
        assert!((mean - moment).abs() < 1e-6, "{mean} vs {moment}");
    }
}

#[test]
fn hutchinson_falls_within_three_standard_errors() {
    let n = 50;
    let a = symmetric(n, 9);
    let trace: f64 = (0..n).map(|i| a[i * n + i]).sum();
    let mut rng = StdRng::seed_from_u64(11);
    let t = hutchinson(n, 300, &mut rng, product(&a, n)).unwrap();
    assert_eq!(t.probes, 300);
    assert!(t.stderr > 0.0 && (t.trace - trace).abs() < 3.0 * t.stderr, "{t:?} vs {trace}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// For any symmetric matrix, a run to the dimension gives the largest
    /// eigenvalue.
    #[test]
    fn lanczos_finds_the_largest_eigenvalue(n in 1usize..14, seed in 0u64..1000) {
        let a = symmetric(n, seed);
        let (values, _) = dense(&a, n);
        let ritz = lanczos(&start(n, seed + 1), &LanczosOptions { top: 1, max_steps: n, tol: 1e-13 }, product(&a, n)).unwrap();
        let want = values[n - 1];
        prop_assert!((ritz.values[0] - want).abs() <= 1e-9 * want.abs().max(1.0), "{} vs {}", ritz.values[0], want);
    }
}
