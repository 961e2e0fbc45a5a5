//! Gradient buckets: which gradients are reduced together. One collective
//! per parameter pays the latency once per parameter; one collective for
//! everything waits for the whole backward pass. PyTorch's
//! DistributedDataParallel groups parameters, in the order their gradients
//! are expected to become final, into buckets of at most 25 MiB, the first
//! one small (1 MiB) so that communication starts early.

/// The cap of the first bucket (PyTorch's `_DEFAULT_FIRST_BUCKET_BYTES`).
pub const FIRST_BUCKET_BYTES: usize = 1 << 20;
/// The cap of the other buckets (PyTorch's `bucket_cap_mb = 25`).
pub const BUCKET_BYTES: usize = 25 << 20;

/// Groups gradients of `lens` values of `bytes` each (in the order they
/// are expected to be final) into buckets: consecutive runs whose size
/// stays within the cap (`first` bytes for the first bucket, `rest` after);
/// a gradient larger than the cap is a bucket of its own. Returns each
/// bucket's indices into `lens`.
///
/// ```
/// use gradus_dist::plan_buckets;
/// // Four-byte values, caps of 40 then 100 bytes.
/// assert_eq!(plan_buckets(&[4, 4, 4, 30, 2], 4, 40, 100), vec![vec![0, 1], vec![2], vec![3], vec![4]]);
/// assert_eq!(plan_buckets(&[1, 1, 1], 8, 1 << 20, 25 << 20), vec![vec![0, 1, 2]]);
/// ```
pub fn plan_buckets(lens: &[usize], bytes: usize, first: usize, rest: usize) -> Vec<Vec<usize>> {
    let mut buckets: Vec<Vec<usize>> = Vec::new();
    let mut current = Vec::new();
    let mut filled = 0usize;
    for (i, &len) in lens.iter().enumerate() {
        let size = len.saturating_mul(bytes);
        let cap = if buckets.is_empty() { first } else { rest };
        if !current.is_empty() && filled.saturating_add(size) > cap {
            buckets.push(std::mem::take(&mut current));
            filled = 0;
        }
        current.push(i);
        filled = filled.saturating_add(size);
    }
    if !current.is_empty() {
        buckets.push(current);
    }
    buckets
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn buckets_keep_order_and_caps(lens in proptest::collection::vec(0usize..50, 0..40), first in 1usize..200, rest in 1usize..400) {
            let b = plan_buckets(&lens, 4, first, rest);
            let flat: Vec<usize> = b.iter().flatten().copied().collect();
            prop_assert_eq!(flat, (0..lens.len()).collect::<Vec<_>>());
            for (k, bucket) in b.iter().enumerate() {
                let cap = if k == 0 { first } else { rest };
                let size: usize = bucket.iter().map(|&i| lens[i] * 4).sum();
                prop_assert!(bucket.len() == 1 || size <= cap);
            }
        }
    }
}
