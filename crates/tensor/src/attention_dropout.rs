//! Dropout on attention weights, drawn where the weights are made.
//!
//! A `[…, T, S]` mask of attention weights would be the largest tensor of
//! a transformer's step (8 MiB a layer at batch 32, context 128, 4 heads)
//! and drawing it from a sequential generator its slowest part. Here each
//! decision is a hash of its position instead: query row r (counted over
//! the flattened leading dims) gets two 32-bit keys from SplitMix64 steps
//! of (seed, r), and key column j is kept when
//! h(h(j + k₁) ⊕ k₂) < (1 − p)·2³², with h Wellons' `lowbias32` (a
//! bijection of u32 with low bias). The same (seed, row, column) always
//! gives the same decision, in any order and on any thread, so the
//! backward pass draws again what the forward pass drew, and nothing is
//! kept between them.

use crate::cpu::with_avx2;
use crate::{Float, Tensor};

/// Dropout on the weights of [`Tensor::attention`]: each weight is zeroed
/// with probability `p` and the others scaled by 1/(1 − p), by a hash of
/// its position, `seed` and `first_row` (the index of the first query row
/// of this call among the rows of a larger batch it is part of, so a
/// shard of a batch gets the masks it gets in the whole batch).
///
/// ```
/// use gradus_tensor::{AttentionDropout, Tensor};
/// let drop = AttentionDropout::new(0.25, 7);
/// let mask = drop.mask::<f64>(&[4, 100, 100]);
/// let kept = mask.to_vec().iter().filter(|&&m| m > 0.0).count();
/// assert!((kept as f64 / 40_000.0 - 0.75).abs() < 0.01);
/// assert!(mask.to_vec().iter().all(|&m| m == 0.0 || m == 1.0 / 0.75));
/// // Rows 200.. of the whole are the mask of a part that starts there.
/// let part = AttentionDropout { first_row: 200, ..drop }.mask::<f64>(&[2, 100, 100]);
/// assert_eq!(part.to_vec(), mask.to_vec()[20_000..]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AttentionDropout {
    /// The probability of zeroing a weight, in [0, 1].
    pub p: f64,
    /// The stream: one per call of a dropout layer.
    pub seed: u64,
    /// The first query row's index in the whole batch.
    pub first_row: u64,
}

impl AttentionDropout {
    /// Dropout with probability `p` from `seed`, for a whole batch.
    ///
    /// # Panics
    /// If `p` is not in [0, 1].
    #[track_caller]
    pub fn new(p: f64, seed: u64) -> Self {
        assert!((0.0..=1.0).contains(&p), "attention dropout: p = {p} is not in [0, 1]");
        AttentionDropout { p, seed, first_row: 0 }
    }

    /// Hashes up to this keep the weight: (1 − p)·2³² of the 2³² values
    /// (with p = 1 the scale is 0, so the decision does not matter).
    fn threshold(&self) -> u32 {
        (((1.0 - self.p) * 4_294_967_296.0).round().clamp(1.0, 4_294_967_296.0) as u64 - 1) as u32
    }

    /// The multiplier of `row`'s key columns 0, 1, …: 1/(1 − p) or 0.
    pub(crate) fn fill_row<T: Float>(&self, row: u64, out: &mut [T]) {
        let (k1, k2, threshold) = self.keys(row);
        let (scale, zero) = (self.scale::<T>(), T::zero());
        with_avx2(
            #[inline(always)]
            || {
                for (j, o) in out.iter_mut().enumerate() {
                    let h = lowbias32(lowbias32((j as u32).wrapping_add(k1)) ^ k2);
                    *o = if h <= threshold { scale } else { zero };
                }
            },
        );
    }

    /// `values` (key columns 0, 1, … of `row`) times their multipliers.
    pub(crate) fn apply_row<T: Float>(&self, row: u64, values: &mut [T]) {
        let (k1, k2, threshold) = self.keys(row);
        let (scale, zero) = (self.scale::<T>(), T::zero());
        with_avx2(
            #[inline(always)]
            || {
                for (j, v) in values.iter_mut().enumerate() {
                    let h = lowbias32(lowbias32((j as u32).wrapping_add(k1)) ^ k2);
                    *v = if h <= threshold { *v * scale } else { zero };
                }
            },
        );
    }

    fn scale<T: Float>(&self) -> T {
        if self.p < 1.0 { T::of(1.0 / (1.0 - self.p)) } else { T::zero() }
    }

    fn keys(&self, row: u64) -> (u32, u32, u32) {
        let z = splitmix(self.seed ^ splitmix(self.first_row.wrapping_add(row)));
        (z as u32, (z >> 32) as u32, self.threshold())
    }

    /// The multipliers as a tensor of `shape` `[…, T, S]` (rows counted
    /// over the leading dims and T): what the kernels multiply in,
    /// written out for a recorded backward pass and for tests.
    ///
    /// # Panics
    /// If `shape` has no axis.
    #[track_caller]
    pub fn mask<T: Float>(&self, shape: &[usize]) -> Tensor<T> {
        let s = *shape.last().expect("attention dropout: a mask needs a key axis");
        let mut data = vec![T::zero(); shape.iter().product()];
        if s > 0 {
            for (r, row) in data.chunks_mut(s).enumerate() {
                self.fill_row(r as u64, row);
            }
        }
        Tensor::from_vec(data, shape).expect("the size of the shape")
    }
}

/// One SplitMix64 output step.
fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Chris Wellons' `lowbias32`: a bijection of u32 whose output bits flip
/// with any input bit with probability close to ½.
#[inline(always)]
fn lowbias32(mut x: u32) -> u32 {
    x ^= x >> 16;
    x = x.wrapping_mul(0x7feb_352d);
    x ^= x >> 15;
    x = x.wrapping_mul(0x846c_a68b);
    x ^ (x >> 16)
}

#[cfg(test)]
mod tests {
    use super::AttentionDropout;

    /// Kept fractions near 1 − p for several p, in rows and in columns;
    /// neighbouring decisions uncorrelated.
    #[test]
    fn decisions_are_fair_and_independent() {
        for p in [0.1, 0.5, 0.9] {
            let (rows, cols) = (400, 500);
            let m = AttentionDropout::new(p, 42).mask::<f64>(&[rows, cols]).to_vec();
            let kept: Vec<f64> = m.iter().map(|&v| f64::from(u8::from(v > 0.0))).collect();
            let mean = kept.iter().sum::<f64>() / kept.len() as f64;
            let sd = (p * (1.0 - p) / kept.len() as f64).sqrt();
            assert!((mean - (1.0 - p)).abs() < 5.0 * sd, "p = {p}: kept {mean}");
            let corr = |pairs: &mut dyn Iterator<Item = (f64, f64)>| {
                let (mut n, mut c) = (0.0, 0.0);
                for (a, b) in pairs {
                    c += (a - mean) * (b - mean);
                    n += 1.0;
                }
                c / n / (mean * (1.0 - mean))
            };
            let right = corr(&mut (0..rows * cols).filter(|i| i % cols + 1 < cols).map(|i| (kept[i], kept[i + 1])));
            let down = corr(&mut (0..(rows - 1) * cols).map(|i| (kept[i], kept[i + cols])));
            assert!(right.abs() < 0.02 && down.abs() < 0.02, "p = {p}: correlations {right}, {down}");
            // Column sums vary as independent draws would.
            let col_means: Vec<f64> =
                (0..cols).map(|j| (0..rows).map(|r| kept[r * cols + j]).sum::<f64>() / rows as f64).collect();
            let var = col_means.iter().map(|c| (c - mean).powi(2)).sum::<f64>() / cols as f64;
            let want = p * (1.0 - p) / rows as f64;
            assert!((var / want - 1.0).abs() < 0.25, "p = {p}: column variance {var} against {want}");
        }
    }

    #[test]
    fn the_edges_of_p() {
        assert!(AttentionDropout::new(0.0, 1).mask::<f32>(&[3, 7]).to_vec().iter().all(|&m| m == 1.0));
        assert!(AttentionDropout::new(1.0, 1).mask::<f32>(&[3, 7]).to_vec().iter().all(|&m| m == 0.0));
        let a = AttentionDropout::new(0.5, 1).mask::<f32>(&[3, 7]).to_vec();
        assert_ne!(a, AttentionDropout::new(0.5, 2).mask::<f32>(&[3, 7]).to_vec(), "another seed, another mask");
        assert_eq!(a, AttentionDropout::new(0.5, 1).mask::<f32>(&[3, 7]).to_vec(), "the same seed, the same mask");
    }
}
