//! K-FAC's step from given factors: both sides' damped inverses, the
//! momentum buffer, parameters without factors by plain SGD, and KL
//! clipping's one factor over every preconditioned layer.
#![cfg(feature = "tensor")]

use gradus_optim::{Estimate, Kfac, KfacConfig, Optimizer};

fn kfac(kl_clip: f64, momentum: f64) -> Optimizer<f64> {
    let cfg = KfacConfig { lr: 0.5, damping: 1e-24, momentum, update_freq: 1, ema: 0.95, kl_clip };
    Optimizer::new(Kfac::new(cfg).unwrap())
}

#[test]
fn a_step_is_the_gradient_preconditioned_from_both_sides() {
    let mut opt = kfac(0.0, 0.0);
    // W is 2 × 2; A = diag(2, 4), G = [[2, 1], [1, 2]] (G⁻¹ = [[2, −1], [−1, 2]]/3).
    let mut w = vec![0.0; 4];
    let (a, g) = ([2.0, 0.0, 0.0, 4.0], [2.0, 1.0, 1.0, 2.0]);
    opt.observe_curvature(0, &[2, 2], &w, Estimate::Kronecker { a: &a, g: &g }).unwrap();
    let grad = [3.0, 6.0, 0.0, 3.0];
    opt.step([(0, &[2usize, 2][..], &mut w[..], Some(&grad[..]))]).unwrap();
    // G⁻¹·∇W = [[2, 3], [-1, 0]]; then ·A⁻¹ = [[1, 0.75], [-0.5, 0]]; θ = −0.5·that.
    let want = [-0.5, -0.375, 0.25, 0.0];
    for (x, y) in w.iter().zip(want) {
        assert!((x - y).abs() < 1e-10, "{w:?} vs {want:?}");
    }
}

#[test]
fn kl_clipping_scales_every_preconditioned_layer_by_one_factor_and_leaves_the_rest() {
    let (mut clipped, mut free) = (kfac(1e-3, 0.0), kfac(0.0, 0.0));
    let grads = [vec![4.0, -2.0], vec![1.0], vec![3.0]];
    let mut moved = Vec::new();
    for opt in [&mut clipped, &mut free] {
        let mut params = [vec![0.0, 0.0], vec![0.0], vec![0.0]];
        // Parameters 0 and 1 have factors (A = I, G = 1 and 2); 2 has none.
        opt.observe_curvature(0, &[1, 2], &params[0], Estimate::Kronecker { a: &[1.0, 0.0, 0.0, 1.0], g: &[1.0] })
            .unwrap();
        opt.observe_curvature(1, &[1], &params[1], Estimate::Kronecker { a: &[1.0], g: &[2.0] }).unwrap();
        let [p0, p1, p2] = &mut params;
        let items = [
            (0u64, &[1usize, 2][..], &mut p0[..], Some(&grads[0][..])),
            (1, &[1][..], &mut p1[..], Some(&grads[1][..])),
            (2, &[1][..], &mut p2[..], Some(&grads[2][..])),
        ];
        opt.step(items).unwrap();
        moved.push(params);
    }
    // lr²·Σ d·g = 0.25·(16 + 4 + 0.5) = 5.125: ν = √(10⁻³/5.125).
    let nu = (1e-3f64 / 5.125).sqrt();
    for k in 0..2 {
        for (c, f) in moved[0][k].iter().zip(&moved[1][k]) {
            assert!((c - nu * f).abs() < 1e-12, "parameter {k}: {c} vs ν·{f}");
        }
    }
    assert_eq!(moved[0][2], moved[1][2], "a parameter without factors is not clipped");
    assert_eq!(moved[1][2], vec![-1.5]);
}
