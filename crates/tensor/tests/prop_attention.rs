//! The attention kernel against attention written out in tensor ops
//! (products, the causal mask table, softmax), forward and backward, over
//! random shapes, broadcast batches, causal masks and dropout masks.

use gradus_tensor::{AttentionDropout, Tensor};
use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;

/// softmax(Q·Kᵀ/√d + M)∘D·V and its weights before dropout.
fn written_out(
    q: &Tensor<f64>,
    k: &Tensor<f64>,
    v: &Tensor<f64>,
    causal: bool,
    drop: Option<&Tensor<f64>>,
) -> [Tensor<f64>; 2] {
    let (t, d) = (q.shape()[q.rank() - 2], q.shape()[q.rank() - 1]);
    let s = k.shape()[k.rank() - 2];
    let mut scores = q.matmul(&k.transpose(-2, -1)) * (1.0 / (d as f64).sqrt());
    if causal {
        scores = &scores + &Tensor::causal_mask(t, s);
    }
    let p = scores.softmax(-1);
    let w = match drop {
        Some(m) => &p * m,
        None => p.clone(),
    };
    [w.matmul(v), p]
}

/// The gradients written out: dV = Wᵀ·dO, dP = (dO·Vᵀ)∘D,
/// dS = P∘(dP − Σ P∘dP)/√d, dQ = dS·K, dK = dSᵀ·Q, each summed to its
/// operand's shape.
fn written_out_grads(
    q: &Tensor<f64>,
    k: &Tensor<f64>,
    v: &Tensor<f64>,
    causal: bool,
    drop: Option<&Tensor<f64>>,
    go: &Tensor<f64>,
) -> [Tensor<f64>; 3] {
    let d = q.shape()[q.rank() - 1];
    let [_, p] = written_out(q, k, v, causal, drop);
    let w = match drop {
        Some(m) => &p * m,
        None => p.clone(),
    };
    let dv = w.transpose(-2, -1).matmul(go);
    let mut dp = go.matmul(&v.transpose(-2, -1));
    if let Some(m) = drop {
        dp = &dp * m;
    }
    let dot = (&p * &dp).sum(-1, true);
    let ds = &p * &(&dp - &dot) * (1.0 / (d as f64).sqrt());
    let dq = ds.matmul(k);
    let dk = ds.transpose(-2, -1).matmul(q);
    [sum_to(&dq, q.shape()), sum_to(&dk, k.shape()), sum_to(&dv, v.shape())]
}

/// `x` summed over the leading dims it has beyond `shape` and over those
/// `shape` has as 1.
fn sum_to(x: &Tensor<f64>, shape: &[usize]) -> Tensor<f64> {
    let extra = x.rank() - shape.len();
    let mut y = x.clone();
    for _ in 0..extra {
        y = y.sum(0, false);
    }
    for (i, &n) in shape.iter().enumerate() {
        if n == 1 && y.shape()[i] != 1 {
            y = y.sum(i as isize, true);
        }
    }
    y
}

#[track_caller]
fn close(a: &Tensor<f64>, b: &Tensor<f64>, what: &str) {
    assert_eq!(a.shape(), b.shape(), "{what}");
    for (x, y) in a.to_vec().iter().zip(b.to_vec()) {
        assert!((x - y).abs() <= 1e-12 * (1.0 + y.abs()), "{what}: {x} against {y}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Values, log-sum-exps and all three gradients equal the written-out
    /// attention to 1e-12, with queries that are transposed views, keys
    /// shared over a broadcast batch dim, more keys than queries under
    /// the causal mask, and dropout.
    #[test]
    fn the_kernel_is_attention(
        heads in 1usize..4,
        t in 1usize..80,
        extra_keys in 0usize..40,
        (d, dv) in (1usize..12, 1usize..12),
        causal in any::<bool>(),
        dropout in any::<bool>(),
        shared_keys in any::<bool>(),
        seed in 0u64..1000,
    ) {
        let mut rng = StdRng::seed_from_u64(seed);
        let s = t + extra_keys;
        // Queries stored [2, T, heads, d] and viewed [2, heads, T, d], as
        // a multi-head layer makes them.
        let q = Tensor::<f64>::normal(&[2, t, heads, d], 0.0, 1.0, &mut rng).permute(&[0, 2, 1, 3]);
        let k = Tensor::<f64>::normal(&[if shared_keys { 1 } else { 2 }, heads, s, d], 0.0, 1.5, &mut rng);
        let v = Tensor::<f64>::normal(&[heads, s, dv], 0.0, 1.0, &mut rng);
        let dropout = dropout.then(|| AttentionDropout::new(0.3, seed));
        let drop = dropout.map(|d| d.mask(&[2, heads, t, s]));
        let (out, lse) = q.attention(&k, &v, causal, dropout);
        let [want, _] = written_out(&q, &k, &v, causal, drop.as_ref());
        close(&out, &want, "output");
        let mut scores = q.matmul(&k.transpose(-2, -1)) * (1.0 / (d as f64).sqrt());
        if causal {
            scores = &scores + &Tensor::causal_mask(t, s);
        }
        close(&lse, &scores.logsumexp(-1, false), "log-sum-exp");
        let go = Tensor::<f64>::normal(out.shape(), 0.0, 1.0, &mut rng);
        let got = q.attention_backward(&k, &v, causal, dropout, &lse, &go);
        let want = written_out_grads(&q, &k, &v, causal, drop.as_ref(), &go);
        for (name, (g, w)) in ["dQ", "dK", "dV"].iter().zip(got.iter().zip(&want)) {
            close(&sum_to(g, w.shape()), w, name);
        }
    }
}

/// Long rows: more keys than fit one tile, so the rows come in blocks.
#[test]
fn blocks_of_rows_are_the_whole() {
    let mut rng = StdRng::seed_from_u64(7);
    let (t, s) = (300, 700);
    let q = Tensor::<f64>::normal(&[t, 8], 0.0, 1.0, &mut rng);
    let k = Tensor::<f64>::normal(&[s, 8], 0.0, 1.0, &mut rng);
    let v = Tensor::<f64>::normal(&[s, 3], 0.0, 1.0, &mut rng);
    for causal in [false, true] {
        let (out, lse) = q.attention(&k, &v, causal, None);
        close(&out, &written_out(&q, &k, &v, causal, None)[0], "output");
        let go = Tensor::<f64>::normal(&[t, 3], 0.0, 1.0, &mut rng);
        let got = q.attention_backward(&k, &v, causal, None, &lse, &go);
        let want = written_out_grads(&q, &k, &v, causal, None, &go);
        for (g, w) in got.iter().zip(&want) {
            close(g, w, "gradient");
        }
    }
}

/// In f32 on many heads (the threaded path) the kernel agrees with the
/// written-out ops to f32 rounding.
#[test]
fn f32_on_many_heads() {
    let mut rng = StdRng::seed_from_u64(3);
    let shape = [16, 4, 64, 32];
    let q = Tensor::<f32>::normal(&shape, 0.0, 1.0, &mut rng);
    let k = Tensor::<f32>::normal(&shape, 0.0, 1.0, &mut rng);
    let v = Tensor::<f32>::normal(&shape, 0.0, 1.0, &mut rng);
    let (out, _) = q.attention(&k, &v, true, None);
    let scores = &(q.matmul(&k.transpose(-2, -1)) * (1.0 / 32f32.sqrt())) + &Tensor::causal_mask(64, 64);
    let want = scores.softmax(-1).matmul(&v);
    for (a, b) in out.to_vec().iter().zip(want.to_vec()) {
        assert!((a - b).abs() <= 1e-5 * (1.0 + b.abs()), "{a} against {b}");
    }
}

#[test]
fn no_keys_give_zeros_and_no_queries_nothing() {
    let q = Tensor::<f64>::ones(&[2, 3, 4]);
    let (out, lse) = q.attention(&Tensor::zeros(&[2, 0, 4]), &Tensor::zeros(&[2, 0, 5]), false, None);
    assert_eq!((out.shape(), out.to_vec()), (&[2usize, 3, 5][..], vec![0.0; 30]));
    assert!(lse.to_vec().iter().all(|&l| l == f64::NEG_INFINITY));
    let empty = Tensor::<f64>::zeros(&[2, 0, 4]);
    let (out, _) = empty.attention(&Tensor::ones(&[2, 3, 4]), &Tensor::ones(&[2, 3, 2]), true, None);
    assert_eq!(out.shape(), [2, 0, 2]);
}

#[test]
#[should_panic(expected = "causal attention needs at least as many keys as queries")]
fn causal_needs_keys_for_every_query() {
    let q = Tensor::<f64>::ones(&[3, 4]);
    let _ = q.attention(&Tensor::ones(&[2, 4]), &Tensor::ones(&[2, 4]), true, None);
}
