//! Buffers the pool did not make (a `Vec` handed to `from_vec`) go back to
//! the allocator when dropped: filed a size class below their own they
//! would never be reused for their size, and a loop making one per step
//! (a data loader's batches) would pile them up to the pool's limit. One
//! test per binary, so the process-wide counters see only this workload.

use gradus_tensor::{Tensor, pool_stats};

#[test]
fn dropped_foreign_buffers_do_not_pile_up_in_the_pool() {
    let before = pool_stats::<f32>().unwrap().cached_bytes;
    for step in 0..50 {
        let batch = Tensor::from_vec(vec![step as f32; 128 * 784], &[128, 784]).unwrap();
        assert_eq!(batch.get(&[127, 783]), step as f32);
    }
    assert_eq!(pool_stats::<f32>().unwrap().cached_bytes, before, "50 batches of 392 KiB were cached");
    // The pool's own buffers are still recycled.
    drop(Tensor::<f32>::zeros(&[128, 784]));
    let cached = pool_stats::<f32>().unwrap().cached_bytes;
    assert!(cached > before, "a pooled buffer returns to the pool");
    drop(Tensor::<f32>::zeros(&[128, 784]));
    assert_eq!(pool_stats::<f32>().unwrap().cached_bytes, cached, "and is taken again for the same size");
}
