//! A forward pass on a shard of a batch, inside `in_shard`, computes what
//! the whole batch computes for those rows: batch norm with the full
//! batch's statistics (and their gradients), dropout with the full batch's
//! masks. Two identical replicas (`Copies(2)`) stand in for a group: their
//! full batch is the shard twice.

use gradus_autodiff::{Across, Copies, Tape, Var};
use gradus_nn::{BatchNorm1d, BatchNorm2d, Dropout2d, Module, MultiheadAttention, Shard, in_shard};
use gradus_tensor::{Tensor, assert_close};
use std::rc::Rc;

fn values(shape: &[usize], seed: u64) -> Tensor<f64> {
    let n: usize = shape.iter().product();
    let v = (0..n).map(|i| ((i as u64 * 2654435761 + seed * 97) % 1000) as f64 / 250.0 - 2.0).collect();
    Tensor::from_vec(v, shape).unwrap()
}

fn twice(t: &Tensor<f64>) -> Tensor<f64> {
    Tensor::concat(&[t.clone(), t.clone()], 0)
}

/// (output, input gradient, weight gradient, bias gradient, running mean, running var)
/// of `loss = Σ y·c` through a fresh batch norm.
fn run(bn: &dyn Module<f64>, x: &Tensor<f64>, c: &Tensor<f64>) -> Vec<Vec<f64>> {
    let tape = Tape::new();
    let xv = tape.leaf(x.clone());
    let y = bn.forward(&tape, &xv);
    let g = (&y * &Var::constant(c.clone())).sum(.., false).backward().unwrap();
    let params = bn.named_parameters();
    let mut out = vec![y.value().to_vec(), g.get(&xv).unwrap().to_vec()];
    out.extend(params.iter().map(|(_, p)| p.grad(&tape, &g).unwrap().to_vec()));
    out.extend(bn.named_buffers().iter().take(2).map(|(_, b)| b.value().to_vec()));
    out
}

#[test]
fn synchronised_batch_norm_is_the_full_batchs() {
    let group: Rc<dyn Across> = Rc::new(Copies(2));
    for shape in [&[3usize, 4][..], &[2, 3, 5], &[2, 3, 2, 2]] {
        let (x, c) = (values(shape, 1), values(shape, 2));
        let make = || -> Box<dyn Module<f64>> {
            if shape.len() == 4 { Box::new(BatchNorm2d::new(3)) } else { Box::new(BatchNorm1d::new(shape[1])) }
        };
        let full = run(&*make(), &twice(&x), &twice(&c));
        let part = in_shard(Shard { first_row: 0, group: Some(Rc::clone(&group)) }, || run(&*make(), &x, &c));
        let half = full[0].len() / 2;
        assert_close!(part[0], full[0][..half].to_vec(), 1e-12, 1e-12);
        assert_close!(part[1], full[1][..half].to_vec(), 1e-12, 1e-12);
        // Each replica holds its rows' share of a parameter's gradient; the
        // two shares add up to the full batch's.
        for k in 2..4 {
            assert_close!(part[k].iter().map(|g| 2.0 * g).collect::<Vec<_>>(), full[k], 1e-12, 1e-12);
        }
        // Running statistics from the full batch (unbiased with its count).
        assert_close!(part[4], full[4], 1e-12, 1e-12);
        assert_close!(part[5], full[5], 1e-12, 1e-12);
    }
}

#[test]
fn local_statistics_without_a_group() {
    let (x, c) = (values(&[4, 3], 3), values(&[4, 3], 4));
    let whole = run(&BatchNorm1d::new(3), &x, &c);
    let local = in_shard(Shard { first_row: 4, group: None }, || run(&BatchNorm1d::new(3), &x, &c));
    assert_eq!(whole, local);
}

#[test]
fn channel_dropout_masks_follow_the_row_in_the_full_batch() {
    let x = Var::constant(Tensor::<f64>::ones(&[6, 8, 2, 2]));
    let whole = Module::forward(&Dropout2d::seeded(0.5, 5), &Tape::new(), &x).into_value().to_vec();
    let mut parts = Vec::new();
    for (first, len) in [(0, 3), (3, 2), (5, 1)] {
        let part = in_shard(Shard { first_row: first, group: None }, || {
            Module::forward(&Dropout2d::seeded(0.5, 5), &Tape::new(), &x.narrow(0, first, len)).into_value().to_vec()
        });
        parts.extend(part);
    }
    assert_eq!(parts, whole);
    assert!(whole.contains(&0.0) && whole.contains(&2.0));
}

/// Dropout on attention weights (drawn inside the kernel) too: each
/// example's heads get the masks they get in the whole batch.
#[test]
fn attention_dropout_follows_the_row_in_the_full_batch() {
    let layer = || {
        let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(4);
        let layer = MultiheadAttention::<f64>::new(8, 2, 0.5, true, true, &mut rng);
        layer.train();
        layer
    };
    let x = Var::constant(values(&[5, 6, 8], 1));
    let whole = layer().forward(&Tape::new(), &x).into_value().to_vec();
    let mut parts = Vec::new();
    for (first, len) in [(0, 2), (2, 3)] {
        parts.extend(in_shard(Shard { first_row: first, group: None }, || {
            layer().forward(&Tape::new(), &x.narrow(0, first, len)).into_value().to_vec()
        }));
    }
    assert_eq!(parts, whole);
    let evaluated = layer();
    evaluated.eval();
    assert_ne!(evaluated.forward(&Tape::new(), &x).into_value().to_vec(), whole, "dropout acts in training");
}

#[test]
fn the_shard_is_restored_after_a_panic() {
    let r = std::panic::catch_unwind(|| in_shard(Shard { first_row: 7, group: None }, || panic!("inside")));
    assert!(r.is_err());
    let x = Var::constant(Tensor::<f64>::ones(&[2, 50]));
    let a = Module::forward(&gradus_nn::Dropout::seeded(0.5, 1), &Tape::new(), &x).into_value().to_vec();
    let b = in_shard(Shard::whole(), || {
        Module::forward(&gradus_nn::Dropout::seeded(0.5, 1), &Tape::new(), &x).into_value().to_vec()
    });
    assert_eq!(a, b);
}
