//! Matrix products with NumPy's semantics (1-d, 2-d, batched with broadcast
//! batch dims) through faer. Operands are passed to faer as strided views,
//! so a transposed operand (`x.t()`, as backward of matmul needs) is never
//! copied.

use crate::error::{Result, TensorError, or_panic};
use crate::layout::{Dims, Layout, broadcast_shapes, walk};
use crate::simd_state::after_faer;
use crate::storage::{Buffer, alloc};
use crate::{Float, Tensor};
use faer::linalg::matmul::matmul as faer_matmul;
use faer::{Accum, MatMut, MatRef, Par};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Products with fewer multiply-adds (m·n·k) than this run on one thread.
///
/// Medians of interleaved runs on the 2-core machine, f32, 1 vs 2 threads,
/// with workers asleep between products: 64×128×64 10.7 vs 35.8 µs;
/// 32×256×128 21 vs 48 µs; 32×784×256 (6.4 M) 128 vs 143 µs; 128×256×128
/// (4.2 M) 78 vs 71 µs; 256³ 326 vs 223 µs. Since the workers spin after
/// parallel work (`set_worker_spin`), a split costs less: within one
/// process, alternating steps, the batch-32 MLP step was 12–16% faster
/// with the line at 2²² (its 6.4 M products split) than at 2²³, 9% at 2²⁰;
/// batch 128 and 512 were unchanged.
pub const DEFAULT_PARALLEL_MATMUL_FLOPS: usize = 1 << 22;
static PARALLEL_MATMUL_FLOPS: AtomicUsize = AtomicUsize::new(DEFAULT_PARALLEL_MATMUL_FLOPS);

/// Sets the size (m·n·k) from which matrix products use all of rayon's
/// threads; `usize::MAX` keeps every product sequential, `0` parallelises all.
pub fn set_parallel_matmul_threshold(flops: usize) {
    PARALLEL_MATMUL_FLOPS.store(flops, Ordering::Relaxed);
}

fn parallelism(m: usize, n: usize, k: usize) -> Par {
    let flops = m.saturating_mul(n).saturating_mul(k);
    if flops >= PARALLEL_MATMUL_FLOPS.load(Ordering::Relaxed) && rayon::current_num_threads() > 1 {
        Par::rayon(0)
    } else {
        Par::Seq
    }
}

/// A strided faer view of the `rows × cols` matrix at `offset` of `data`.
///
/// # Safety
/// Every element `offset + i·rs + j·cs` (i < rows, j < cols) must lie in `data`.
unsafe fn mat_ref<T>(data: &[T], offset: usize, rows: usize, cols: usize, rs: usize, cs: usize) -> MatRef<'_, T> {
    // SAFETY: the caller guarantees the view stays inside `data`.
    unsafe { MatRef::from_raw_parts(data.as_ptr().add(offset), rows, cols, rs as isize, cs as isize) }
}

impl<T: Float> Tensor<T> {
    /// The matrix product with NumPy's `matmul` semantics: 1-d·1-d is a dot
    /// product, a 1-d operand is promoted to a row (left) or column (right)
    /// vector and the added dim removed, and leading batch dims broadcast.
    ///
    /// # Panics
    /// If an operand is 0-d, the inner dims differ, or batch dims cannot be
    /// broadcast.
    ///
    /// # Examples
    /// ```
    /// use gradus_tensor::Tensor;
    /// let a = Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0], &[2, 2]).unwrap();
    /// let v = Tensor::from_vec(vec![1.0f64, 1.0], &[2]).unwrap();
    /// assert_eq!(a.matmul(&v).to_vec(), vec![3.0, 7.0]);
    /// assert_eq!(a.t().matmul(&a).to_vec(), vec![10.0, 14.0, 14.0, 20.0]);
    /// ```
    #[track_caller]
    pub fn matmul(&self, rhs: &Self) -> Self {
        or_panic(self.try_matmul(rhs))
    }

    /// [`Tensor::matmul`], returning an error instead of panicking.
    ///
    /// # Errors
    /// If an operand is 0-d, the inner dims differ, or batch dims cannot be
    /// broadcast.
    pub fn try_matmul(&self, rhs: &Self) -> Result<Self> {
        let op = "matmul";
        let mismatch = |reason: String| TensorError::ShapeMismatch {
            op,
            lhs: self.shape().to_vec(),
            rhs: rhs.shape().to_vec(),
            reason,
        };
        if self.rank() == 0 || rhs.rank() == 0 {
            return Err(mismatch("both operands need at least one dimension".into()));
        }
        let lhs2 = if self.rank() == 1 { self.unsqueeze(0) } else { self.clone() };
        let rhs2 = if rhs.rank() == 1 { rhs.unsqueeze(1) } else { rhs.clone() };
        let (lr, rr) = (lhs2.rank(), rhs2.rank());
        let (m, k) = (lhs2.shape()[lr - 2], lhs2.shape()[lr - 1]);
        let (k2, n) = (rhs2.shape()[rr - 2], rhs2.shape()[rr - 1]);
        if k != k2 {
            return Err(mismatch(format!("inner dimensions differ ({k} vs {k2})")));
        }
        let batch = broadcast_shapes(op, &lhs2.shape()[..lr - 2], &rhs2.shape()[..rr - 2])
            .map_err(|_| mismatch("batch dimensions cannot be broadcast".into()))?;
        let mut out_shape = batch.clone();
        out_shape.extend([m, n]);
        let out = batched_matmul(&lhs2, &rhs2, &batch, m, k, n);
        let mut result = Tensor::from_parts(out, &out_shape);
        if self.rank() == 1 {
            result = result.squeeze(Some(-2));
        }
        if rhs.rank() == 1 {
            result = result.squeeze(Some(-1));
        }
        Ok(result)
    }
}

fn batched_matmul<T: Float>(
    lhs: &Tensor<T>,
    rhs: &Tensor<T>,
    batch: &[usize],
    m: usize,
    k: usize,
    n: usize,
) -> Buffer<T> {
    let b: usize = batch.iter().product();
    let mut out = alloc(b * m * n);
    if out.is_empty() {
        return out;
    }
    if k == 0 {
        out.fill(T::zero());
        return out;
    }
    let strides_of = |t: &Tensor<T>| -> Dims {
        let r = t.rank();
        let layout = Layout {
            shape: Dims::from_slice(&t.shape()[..r - 2]),
            strides: Dims::from_slice(&t.strides()[..r - 2]),
            offset: 0,
        };
        layout.broadcast_strides("matmul", batch).expect("batch shape checked")
    };
    let (ls, rs) = (strides_of(lhs), strides_of(rhs));
    let (lr, rr) = (lhs.rank(), rhs.rank());
    let (lrs, lcs) = (lhs.strides()[lr - 2], lhs.strides()[lr - 1]);
    let (rrs, rcs) = (rhs.strides()[rr - 2], rhs.strides()[rr - 1]);
    let (ld, rd) = (lhs.storage(), rhs.storage());

    // A shared right operand and a left operand whose batch and row dims
    // merge into one: a single (b·m) × k product, like a linear layer on
    // [batch, seq, features].
    if b > 1 && rs.iter().all(|&s| s == 0) {
        let merged = Layout {
            shape: batch.iter().chain([&m]).copied().collect(),
            strides: ls.iter().chain([&lrs]).copied().collect(),
            offset: 0,
        };
        if let Some(st) = merged.reshape_strides(&[b * m]) {
            // SAFETY: the merged view covers exactly the elements of `lhs`,
            // and `rhs` is one matrix of its own layout.
            let (l, r) = unsafe {
                (
                    mat_ref(ld, lhs.layout().offset, b * m, k, st[0], lcs),
                    mat_ref(rd, rhs.layout().offset, k, n, rrs, rcs),
                )
            };
            let dst = MatMut::from_row_major_slice_mut(&mut out, b * m, n);
            let par = parallelism(b * m, n, k);
            faer_matmul(dst, Accum::Replace, l, r, T::one(), par);
            after_faer(par);
            return out;
        }
    }

    let par = parallelism(m, n, k);
    let mut chunks = out.chunks_mut(m * n);
    walk(batch, [&ls, &rs], [lhs.layout().offset, rhs.layout().offset], |[lo, ro]| {
        // SAFETY: `lo`/`ro` come from the tensors' own layouts, so every
        // element of the m×k and k×n views lies in their storage.
        let (l, r) = unsafe { (mat_ref(ld, lo, m, k, lrs, lcs), mat_ref(rd, ro, k, n, rrs, rcs)) };
        let dst = MatMut::from_row_major_slice_mut(chunks.next().expect("one chunk per batch"), m, n);
        faer_matmul(dst, Accum::Replace, l, r, T::one(), par);
    });
    after_faer(par);
    out
}

#[cfg(test)]
mod tests {
    use crate::Tensor;

    #[test]
    fn worked_example_wx_plus_b() {
        // W = [[1,2,−1,−2],[3,4,−3,4]], x = (1,2,3,4), b = (5,6).
        let w = Tensor::from_vec(vec![1.0f64, 2.0, -1.0, -2.0, 3.0, 4.0, -3.0, 4.0], &[2, 4]).unwrap();
        let x = Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0], &[4]).unwrap();
        let b = Tensor::from_vec(vec![5.0f64, 6.0], &[2]).unwrap();
        assert_eq!((w.matmul(&x) + b).to_vec(), vec![-1.0, 24.0]);
    }

    #[test]
    fn vector_and_empty_cases() {
        let v = Tensor::from_vec(vec![1.0f32, 2.0, 3.0], &[3]).unwrap();
        let dot = v.matmul(&v);
        assert_eq!(dot.shape(), &[] as &[usize]);
        assert_eq!(dot.item(), 14.0);
        let a = Tensor::<f32>::ones(&[2, 0]);
        let b = Tensor::<f32>::ones(&[0, 3]);
        assert_eq!(a.matmul(&b).to_vec(), vec![0.0; 6]);
        let err = v.try_matmul(&Tensor::ones(&[2, 2])).unwrap_err().to_string();
        assert_eq!(err, "matmul: incompatible shapes [3] and [2, 2]: inner dimensions differ (3 vs 2)");
    }

    #[test]
    fn shared_rhs_folds_the_batch() {
        let x = Tensor::from_vec((0..12).map(|i| i as f64).collect(), &[2, 3, 2]).unwrap();
        let w = Tensor::from_vec(vec![1.0, 0.0, 0.0, 1.0], &[2, 2]).unwrap();
        assert_eq!(x.matmul(&w).to_vec(), x.to_vec());
        assert_eq!(x.matmul(&w.t()).shape(), &[2, 3, 2]);
    }
}
