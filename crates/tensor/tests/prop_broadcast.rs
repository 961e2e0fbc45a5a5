//! Broadcasting laws: agreement with explicit expansion, commutativity,
//! identity elements, and scalar broadcasting.

mod common;

use common::{config, shape, tensor_of, unravel};
use gradus_tensor::{Tensor, assert_close};
use proptest::prelude::*;

/// Two shapes that broadcast: the second keeps a suffix of the first with
/// some dims set to 1.
fn broadcastable() -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
    shape().prop_flat_map(|s| {
        let r = s.len();
        (Just(s), 0..=r, prop::collection::vec(any::<bool>(), r)).prop_map(move |(s, keep, ones)| {
            let rhs: Vec<usize> =
                s[r - keep..].iter().zip(&ones[r - keep..]).map(|(&d, &one)| if one { 1 } else { d }).collect();
            (s, rhs)
        })
    })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn broadcast_add_matches_naive_indexing(
        (a, b) in broadcastable().prop_flat_map(|(l, r)| (tensor_of(l), tensor_of(r)))
    ) {
        let sum = &a + &b;
        prop_assert_eq!(sum.shape(), a.shape());
        let got = sum.to_vec();
        for i in 0..a.numel() {
            let idx = unravel(i, a.shape());
            let off = idx.len() - b.rank();
            let bidx: Vec<usize> = b.shape().iter().enumerate().map(|(d, &n)| if n == 1 { 0 } else { idx[off + d] }).collect();
            prop_assert_eq!(got[i], a.get(&idx) + b.get(&bidx));
        }
    }

    #[test]
    fn broadcasting_commutes_and_equals_explicit_expansion(
        (a, b) in broadcastable().prop_flat_map(|(l, r)| (tensor_of(l), tensor_of(r)))
    ) {
        prop_assert_eq!((&a * &b).to_vec(), (&b * &a).to_vec());
        let expanded = b.broadcast_to(a.shape());
        prop_assert_eq!((&a - &b).to_vec(), (&a - &expanded.contiguous()).to_vec());
        prop_assert_eq!(a.maximum(&b).to_vec(), b.maximum(&a).to_vec());
    }

    #[test]
    fn identities_and_scalars(a in common::tensor()) {
        prop_assert_eq!((&a + &Tensor::zeros(&[1])).to_vec(), a.to_vec());
        prop_assert_eq!((&a * &Tensor::scalar(1.0)).to_vec(), a.to_vec());
        prop_assert_eq!((&a * 2.0).to_vec(), (&a + &a).to_vec());
        assert_close!(&a / &a.map(|x| if x == 0.0 { 1.0 } else { x }) * &a.map(|x| if x == 0.0 { 1.0 } else { x }), a, 1e-12, 1e-12);
        // Non-contiguous operands give the same values as contiguous ones.
        let t = a.t();
        prop_assert_eq!((&t + &t).to_vec(), (&t.contiguous() + &t.contiguous()).to_vec());
    }
}

proptest! {
    #![proptest_config(config())]

    /// `select` gives the same elements on its flat path (row-major
    /// operands, single values) as element-by-element indexing, for dense,
    /// broadcast and transposed (strided) operands alike.
    #[test]
    fn select_matches_naive_indexing(
        (a, b) in broadcastable().prop_flat_map(|(l, r)| (tensor_of(l), tensor_of(r))),
        scalar in -2.0f64..2.0,
    ) {
        let mask = a.gt_scalar(0.0);
        let one = Tensor::scalar(scalar);
        let cases = [(&a, &b), (&b, &a), (&a, &one), (&one, &b), (&one, &one)];
        for (t, f) in cases {
            let got = mask.select(t, f);
            prop_assert_eq!(got.shape(), a.shape());
            let got = got.to_vec();
            for i in 0..a.numel() {
                let idx = unravel(i, a.shape());
                let at = |x: &Tensor<f64>| {
                    let off = idx.len() - x.rank();
                    let xi: Vec<usize> = x.shape().iter().enumerate().map(|(d, &n)| if n == 1 { 0 } else { idx[off + d] }).collect();
                    x.get(&xi)
                };
                prop_assert_eq!(got[i], if mask.get(&idx) { at(t) } else { at(f) });
            }
        }
        let (mt, at) = (mask.t(), a.t());
        prop_assert_eq!(mt.select(&at, &one).to_vec(), mt.contiguous().select(&at.contiguous(), &one).to_vec());
    }
}
