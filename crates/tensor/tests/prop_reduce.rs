//! Reductions against naive loops, softmax and logsumexp properties, view
//! round trips.

mod common;

use common::{config, unravel};
use gradus_tensor::{Tensor, assert_close};
use proptest::prelude::*;

/// A tensor and one of its axes.
fn with_axis() -> impl Strategy<Value = (Tensor<f64>, usize)> {
    common::tensor().prop_flat_map(|t| {
        let r = t.rank();
        (Just(t), 0..r)
    })
}

/// Naive fold along `axis`: the output (shape without the axis) by explicit
/// multi-indices.
fn naive_along(t: &Tensor<f64>, axis: usize, f: impl Fn(&[f64]) -> f64) -> Vec<f64> {
    let mut out_shape = t.shape().to_vec();
    out_shape.remove(axis);
    let n: usize = out_shape.iter().product();
    (0..n)
        .map(|i| {
            let idx = unravel(i, &out_shape);
            let line: Vec<f64> = (0..t.shape()[axis])
                .map(|j| {
                    let mut full = idx.clone();
                    full.insert(axis, j);
                    t.get(&full)
                })
                .collect();
            f(&line)
        })
        .collect()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn single_axis_reductions((t, a) in with_axis()) {
        let ax = a as isize;
        assert_close!(t.sum(ax, false), naive_along(&t, a, |l| l.iter().sum()), 1e-10, 1e-12);
        assert_close!(t.mean(ax, false), naive_along(&t, a, |l| l.iter().sum::<f64>() / l.len() as f64), 1e-10, 1e-12);
        assert_close!(t.prod(ax, false), naive_along(&t, a, |l| l.iter().product()), 1e-10, 1e-10);
        assert_close!(t.max(ax, false), naive_along(&t, a, |l| l.iter().copied().fold(f64::MIN, f64::max)), 0.0, 0.0);
        assert_close!(t.min(ax, false), naive_along(&t, a, |l| l.iter().copied().fold(f64::MAX, f64::min)), 0.0, 0.0);
        let var = |l: &[f64]| {
            let m = l.iter().sum::<f64>() / l.len() as f64;
            if l.len() < 2 { f64::NAN } else { l.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (l.len() - 1) as f64 }
        };
        assert_close!(t.var(ax, 1, false), naive_along(&t, a, var), 1e-9, 1e-10);
        assert_close!(t.norm(2.0, ax, false), naive_along(&t, a, |l| l.iter().map(|x| x * x).sum::<f64>().sqrt()), 1e-10, 1e-12);
        let argmax = t.argmax(ax, false).to_vec();
        let expect = naive_along(&t, a, |l| {
            let m = l.iter().copied().fold(f64::MIN, f64::max);
            l.iter().position(|&x| x == m).unwrap() as f64
        });
        prop_assert_eq!(argmax.iter().map(|&i| i as f64).collect::<Vec<_>>(), expect);
    }

    #[test]
    fn keepdim_and_multi_axis_agree_with_repeated_single_axes(t in common::tensor()) {
        let all = t.sum(.., false).item();
        let flat: f64 = t.to_vec().iter().sum();
        assert_close!(all, flat, 1e-9, 1e-12);
        if t.rank() >= 2 {
            let two = t.sum([0, -1], true);
            prop_assert_eq!(two.shape()[0], 1);
            let step = t.sum(-1, true).sum(0, true);
            assert_close!(two, step, 1e-10, 1e-12);
            // Reducing a transposed view gives the same as reducing a copy.
            assert_close!(t.t().sum(0, false), t.t().contiguous().sum(0, false), 1e-10, 1e-12);
            // Leading axes of a contiguous tensor (rows added whole) and of
            // a strided view of the same values (walked) fold in one order:
            // the same bits, arg-indices included.
            let strided = t.t().contiguous().t();
            let lead: Vec<isize> = (0..t.rank() as isize - 1).collect();
            let bits = |x: Tensor<f64>| x.to_vec().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            prop_assert_eq!(bits(t.sum(lead.as_slice(), false)), bits(strided.sum(lead.as_slice(), false)));
            prop_assert_eq!(bits(t.var(0, 1, true)), bits(strided.var(0, 1, true)));
            prop_assert_eq!(t.argmax(0, false).to_vec(), strided.argmax(0, false).to_vec());
        }
        prop_assert_eq!(t.argmax(.., false).item(), {
            let v = t.to_vec();
            let m = v.iter().copied().fold(f64::MIN, f64::max);
            v.iter().position(|&x| x == m).unwrap()
        });
    }

    #[test]
    fn softmax_rows_sum_to_one_and_are_shift_invariant((t, a) in with_axis(), shift in -50.0f64..50.0) {
        let p = t.softmax(a as isize);
        assert_close!(p.sum(a as isize, false), vec![1.0; t.numel() / t.shape()[a]], 1e-12, 0.0);
        assert_close!((&t + shift).softmax(a as isize), p, 1e-12, 1e-9);
        assert_close!(t.log_softmax(a as isize), p.ln(), 1e-10, 1e-10);
        let lse = t.logsumexp(a as isize, true);
        assert_close!(t.log_softmax(a as isize), &t - &lse, 1e-10, 1e-10);
    }

    #[test]
    fn permute_and_reshape_round_trip(t in common::tensor(), seed in any::<u64>()) {
        // A permutation from the seed, and its inverse.
        let r = t.rank();
        let mut perm: Vec<usize> = (0..r).collect();
        let mut s = seed;
        for i in (1..r).rev() {
            perm.swap(i, (s % (i as u64 + 1)) as usize);
            s /= i as u64 + 1;
        }
        let mut inverse = vec![0; r];
        for (i, &p) in perm.iter().enumerate() {
            inverse[p] = i as isize;
        }
        let p: Vec<isize> = perm.iter().map(|&x| x as isize).collect();
        let back = t.permute(&p).permute(&inverse);
        prop_assert_eq!(back.to_vec(), t.to_vec());
        let flat = t.permute(&p).reshape(&[-1]);
        let shape: Vec<isize> = t.permute(&p).shape().iter().map(|&d| d as isize).collect();
        prop_assert_eq!(flat.reshape(&shape).permute(&inverse).to_vec(), t.to_vec());
        prop_assert_eq!(t.reshape(&[-1]).reshape(&t.shape().iter().map(|&d| d as isize).collect::<Vec<_>>()).to_vec(), t.to_vec());
    }
}

#[test]
fn logsumexp_is_finite_at_plus_minus_1000() {
    let big = Tensor::from_vec(vec![1000.0f64, -1000.0, 999.0], &[3]).unwrap();
    let lse = big.logsumexp(0, false).item();
    assert_close!(lse, 1000.0 + (1.0 + (-1.0f64).exp()).ln(), 1e-12, 0.0);
    let neg = Tensor::from_vec(vec![-1000.0f64, -1000.0], &[2]).unwrap();
    assert_close!(neg.logsumexp(0, false).item(), -1000.0 + 2f64.ln(), 1e-12, 0.0);
    let f = Tensor::from_vec(vec![1000.0f32, -1000.0, 999.0], &[3]).unwrap();
    let lse32 = f.logsumexp(.., false).item();
    assert!(lse32.is_finite());
    assert_close!(lse32, 1000.0 + (1.0 + (-1.0f64).exp()).ln(), 1e-3, 0.0);
    assert!(f.softmax(0).to_vec().iter().all(|p| p.is_finite()));
    assert!(f.log_softmax(0).to_vec().iter().all(|p| p.is_finite()));
}

#[test]
fn worked_example_gradient_of_logsumexp_is_softmax() {
    // ∇ log(eˣ + eʸ + eᶻ) = softmax([x, y, z]); check by
    // central differences in f64.
    let x = [0.3f64, -1.2, 2.0];
    let eps = 1e-6;
    let lse = |v: &[f64]| Tensor::from_slice(v, &[3]).unwrap().logsumexp(0, false).item();
    let grad: Vec<f64> = (0..3)
        .map(|i| {
            let (mut p, mut m) = (x, x);
            p[i] += eps;
            m[i] -= eps;
            (lse(&p) - lse(&m)) / (2.0 * eps)
        })
        .collect();
    assert_close!(grad, Tensor::from_slice(&x, &[3]).unwrap().softmax(0), 1e-9, 0.0);
}

#[test]
fn large_reductions_split_across_threads_stay_accurate() {
    let n = 1 << 20;
    let t = Tensor::<f32>::ones(&[n]);
    assert_eq!(t.sum(.., false).item(), n as f32);
    let v = Tensor::<f32>::arange(0.0, n as f32, 1.0).unwrap();
    assert_eq!(v.argmax(.., false).item(), n - 1);
    assert_eq!(v.max(.., false).item(), (n - 1) as f32);
    let m = v.reshape(&[1024, -1]).mean(.., false).item();
    assert_close!(m, (n - 1) as f64 / 2.0, 0.0, 1e-6);
}

proptest! {
    #![proptest_config(config())]

    /// Leading and trailing axes reduced around kept ones (contiguous: the
    /// run-by-run path) against the same reduction on a strided copy (the
    /// general walk): sums, maxima and their positions.
    #[test]
    fn outer_and_inner_axes_reduced_around_kept_ones(
        n in 1usize..4, c in 1usize..5, h in 1usize..4, w in 1usize..6, seed in 0u64..1000
    ) {
        let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(seed);
        let t = Tensor::<f64>::uniform(&[n, c, h, w], -1.0, 1.0, &mut rng);
        // The same values, not contiguous: the general walk.
        let strided = t.permute(&[0, 1, 3, 2]).contiguous().permute(&[0, 1, 3, 2]);
        prop_assert!(!strided.is_contiguous() || h == 1 || w == 1);
        for axes in [vec![0isize, 2, 3], vec![0, 3], vec![2, 3]] {
            assert_close!(t.sum(axes.clone(), false), strided.sum(axes.clone(), false), 1e-12, 1e-12);
            assert_close!(t.max(axes.clone(), true), strided.max(axes.clone(), true), 0.0, 0.0);
        }
        let flat = t.reshape(&[n as isize, c as isize, (h * w) as isize]);
        prop_assert_eq!(flat.argmax(vec![0isize, 2], false).to_vec(), flat.permute(&[1, 0, 2]).contiguous().reshape(&[c as isize, -1]).argmax(1, false).to_vec());
    }
}
