//! matmul against a naive triple loop, for random shapes, transposed views
//! and broadcast batches.

mod common;

use common::config;
use gradus_tensor::{Tensor, assert_close};
use proptest::prelude::*;

fn naive(a: &Tensor<f64>, b: &Tensor<f64>) -> Vec<f64> {
    let (m, k, n) = (a.shape()[0], a.shape()[1], b.shape()[1]);
    let mut out = vec![0.0; m * n];
    for i in 0..m {
        for j in 0..n {
            for p in 0..k {
                out[i * n + j] += a.get(&[i, p]) * b.get(&[p, j]);
            }
        }
    }
    out
}

fn matrix(rows: usize, cols: usize) -> impl Strategy<Value = Tensor<f64>> {
    common::tensor_of(vec![rows, cols])
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn matmul_matches_the_triple_loop(
        (a, b) in (1usize..40, 1usize..40, 1usize..40).prop_flat_map(|(m, k, n)| (matrix(m, k), matrix(k, n)))
    ) {
        assert_close!(a.matmul(&b), naive(&a, &b), 1e-9, 1e-12);
    }

    #[test]
    fn transposed_views_need_no_copy_and_agree(
        (at, bt) in (1usize..30, 1usize..30, 1usize..30).prop_flat_map(|(m, k, n)| (matrix(k, m), matrix(n, k)))
    ) {
        // aᵀ and bᵀ are strided views; the product equals that of copies.
        let (a, b) = (at.t(), bt.t());
        prop_assert!(!a.is_contiguous() || a.shape()[0] == 1 || a.shape()[1] == 1);
        assert_close!(a.matmul(&b), naive(&a.contiguous(), &b.contiguous()), 1e-9, 1e-12);
    }

    #[test]
    fn batches_broadcast(
        (a, b) in (1usize..4, 1usize..3, 1usize..8, 1usize..8, 1usize..8)
            .prop_flat_map(|(b1, b2, m, k, n)| (common::tensor_of(vec![b1, 1, m, k]), common::tensor_of(vec![b2, k, n])))
    ) {
        let c = a.matmul(&b);
        let (b1, b2) = (a.shape()[0], b.shape()[0]);
        prop_assert_eq!(c.shape(), &[b1, b2, a.shape()[2], b.shape()[2]]);
        for i in 0..b1 {
            for j in 0..b2 {
                let ai = a.narrow(0, i, 1).reshape(&[a.shape()[2] as isize, a.shape()[3] as isize]);
                let bj = b.narrow(0, j, 1).squeeze(Some(0));
                let cij = c.narrow(0, i, 1).narrow(1, j, 1).reshape(&[-1]);
                assert_close!(cij, naive(&ai, &bj), 1e-9, 1e-12);
            }
        }
    }

    #[test]
    fn shared_weight_over_a_batch((x, w) in (1usize..5, 1usize..6, 1usize..6, 1usize..6)
        .prop_flat_map(|(b, m, k, n)| (common::tensor_of(vec![b, m, k]), matrix(n, k))))
    {
        // x · wᵀ with a 3-d x, as a linear layer on sequences.
        let y = x.matmul(&w.t());
        for i in 0..x.shape()[0] {
            let xi = x.narrow(0, i, 1).squeeze(Some(0));
            assert_close!(y.narrow(0, i, 1).reshape(&[-1]), naive(&xi, &w.t().contiguous()), 1e-9, 1e-12);
        }
    }

    #[test]
    fn vector_products(v in common::tensor_of(vec![7]), m in matrix(7, 3)) {
        let dot: f64 = v.to_vec().iter().map(|x| x * x).sum();
        assert_close!(v.matmul(&v), dot, 1e-9, 1e-12);
        assert_close!(v.matmul(&m), naive(&v.unsqueeze(0), &m), 1e-9, 1e-12);
        assert_close!(m.t().matmul(&v), naive(&m.t().contiguous(), &v.unsqueeze(1)), 1e-9, 1e-12);
    }
}

#[test]
fn f32_matmul_agrees_with_f64() {
    use rand::SeedableRng;
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    let a = Tensor::<f64>::normal(&[64, 100], 0.0, 1.0, &mut rng);
    let b = Tensor::<f64>::normal(&[100, 48], 0.0, 1.0, &mut rng);
    let c32 = a.cast::<f32>().matmul(&b.cast::<f32>().t().contiguous().t());
    assert_close!(c32, a.matmul(&b), 1e-4, 1e-4);
}

#[test]
fn large_parallel_product_matches_sequential() {
    use rand::SeedableRng;
    let mut rng = rand::rngs::StdRng::seed_from_u64(4);
    let a = Tensor::<f64>::normal(&[300, 256], 0.0, 1.0, &mut rng);
    let b = Tensor::<f64>::normal(&[256, 260], 0.0, 1.0, &mut rng);
    // Above the parallel threshold (300·256·260 ≈ 20M) and below it.
    let par = a.matmul(&b);
    let seq = a.narrow(0, 0, 10).matmul(&b);
    assert_close!(par.narrow(0, 0, 10), seq, 1e-10, 1e-12);
}
