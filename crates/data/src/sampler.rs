//! Samplers: the order in which an epoch visits a dataset, as a pure
//! function of (seed, epoch), so runs are reproducible and resumable.

use rand::distr::{Distribution, weighted::WeightedIndex};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

/// An index order per epoch.
pub trait Sampler: Send + Sync {
    /// The indices of `epoch` (0 is the first).
    fn indices(&self, epoch: u64) -> Vec<usize>;
}

fn rng(seed: u64, epoch: u64) -> StdRng {
    StdRng::seed_from_u64(seed ^ epoch.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17))
}

/// 0, 1, …, n − 1 every epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SequentialSampler(pub usize);

impl Sampler for SequentialSampler {
    fn indices(&self, _epoch: u64) -> Vec<usize> {
        (0..self.0).collect()
    }
}

/// A shuffled sweep: every index exactly once per epoch, a different
/// permutation each epoch, the same for the same (seed, epoch).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShuffledSampler {
    /// Dataset length.
    pub len: usize,
    /// Seed.
    pub seed: u64,
}

impl Sampler for ShuffledSampler {
    fn indices(&self, epoch: u64) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.len).collect();
        order.shuffle(&mut rng(self.seed, epoch));
        order
    }
}

/// The textbook SGD estimator: `num_samples` indices drawn i.i.d. from
/// Uniform{0..n} (with replacement).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReplacementSampler {
    /// Dataset length.
    pub len: usize,
    /// Draws per epoch.
    pub num_samples: usize,
    /// Seed.
    pub seed: u64,
}

impl Sampler for ReplacementSampler {
    fn indices(&self, epoch: u64) -> Vec<usize> {
        if self.len == 0 {
            return Vec::new();
        }
        let mut r = rng(self.seed, epoch);
        (0..self.num_samples).map(|_| r.random_range(0..self.len)).collect()
    }
}

/// Indices drawn with probability proportional to `weights` (with
/// replacement), e.g. to rebalance classes.
#[derive(Clone, Debug, PartialEq)]
pub struct WeightedSampler {
    weights: Vec<f64>,
    num_samples: usize,
    seed: u64,
}

impl WeightedSampler {
    /// `num_samples` draws per epoch.
    ///
    /// # Errors
    /// If a weight is negative or not finite, or all are zero.
    pub fn new(weights: Vec<f64>, num_samples: usize, seed: u64) -> crate::Result<Self> {
        WeightedIndex::new(&weights).map_err(|e| crate::DataError::Invalid(format!("weighted sampler: {e}")))?;
        Ok(Self { weights, num_samples, seed })
    }
}

impl Sampler for WeightedSampler {
    fn indices(&self, epoch: u64) -> Vec<usize> {
        let dist = WeightedIndex::new(&self.weights).expect("validated at construction");
        let mut r = rng(self.seed, epoch);
        (0..self.num_samples).map(|_| dist.sample(&mut r)).collect()
    }
}

/// Groups indices into batches of `batch_size`; the last, shorter batch is
/// kept unless `drop_last`.
///
/// ```
/// use gradus_data::batches;
/// let b = batches(&(0..10).collect::<Vec<_>>(), 4, false);
/// assert_eq!(b.iter().map(Vec::len).collect::<Vec<_>>(), vec![4, 4, 2]);
/// assert_eq!(batches(&(0..10).collect::<Vec<_>>(), 4, true).len(), 2);
/// ```
///
/// # Panics
/// If `batch_size` is 0.
pub fn batches(indices: &[usize], batch_size: usize, drop_last: bool) -> Vec<Vec<usize>> {
    assert!(batch_size > 0, "batches: batch_size must be positive");
    indices.chunks(batch_size).filter(|c| !drop_last || c.len() == batch_size).map(<[usize]>::to_vec).collect()
}

/// The rows of part `part` of `parts` of a batch of `len`: contiguous
/// runs covering the batch in order, the first `len % parts` one row longer.
///
/// ```
/// use gradus_data::shard_range;
/// let parts: Vec<_> = (0..3).map(|p| shard_range(10, p, 3)).collect();
/// assert_eq!(parts, vec![0..4, 4..7, 7..10]);
/// ```
pub fn shard_range(len: usize, part: usize, parts: usize) -> std::ops::Range<usize> {
    let (base, extra) = (len / parts, len % parts);
    let start = part * base + part.min(extra);
    start..start + base + usize::from(part < extra)
}

#[cfg(test)]
mod shard_tests {
    use super::shard_range;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn parts_cover_the_batch_in_order(len in 0usize..500, parts in 1usize..17) {
            let ranges: Vec<_> = (0..parts).map(|p| shard_range(len, p, parts)).collect();
            prop_assert_eq!(ranges[0].start, 0);
            prop_assert_eq!(ranges[parts - 1].end, len);
            for w in ranges.windows(2) {
                prop_assert_eq!(w[0].end, w[1].start);
                prop_assert!(w[0].len() >= w[1].len() && w[0].len() - w[1].len() <= 1);
            }
        }
    }
}
