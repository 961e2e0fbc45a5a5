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

/// The size (m·n·k) from which products use rayon's threads, as set by
/// [`set_parallel_matmul_threshold`]: the line other product-shaped kernels
/// (attention) go by too.
pub(crate) fn parallel_line() -> usize {
    PARALLEL_MATMUL_FLOPS.load(Ordering::Relaxed)
}

/// Products from this many multiply-adds (m·n·k) up are split across the
/// threads by faer itself; smaller parallel products are cut into one
/// block of output rows or columns per thread, each block a sequential faer
/// product ([`Plan::Blocks`]).
///
/// Medians of 200 interleaved runs on the 2-core Zen 4, f32, µs (faer's
/// split / ours): the first layer's x·Wᵀ of a 784-256 MLP 106–128 / 69–87
/// at batch 32 and 272–289 / 258–270 at batch 128; 32×256×128 (x·Wᵀ)
/// 25–29 / 13–15; the backward's products within ±5% either way. From
/// 512×784×256 up (10⁸) faer's own split was 1–4% faster.
pub const BLOCK_SPLIT_MAX_FLOPS: usize = 1 << 26;

/// Output rows or columns of the narrowest block [`Plan::Blocks`] makes.
const MIN_BLOCK: usize = 16;

/// How one product uses rayon's threads.
#[derive(Debug, PartialEq)]
enum Plan {
    /// One faer call on this thread.
    Seq,
    /// One faer call parallelised by faer.
    Faer,
    /// `parts` sequential faer calls side by side, each on a block of the
    /// output's columns (`by_cols`) or rows. faer's own split of a
    /// mid-sized product waits at barriers between its steps; blocks need
    /// no waiting until the end, and each thread packs only its share of
    /// the operand it splits.
    Blocks { parts: usize, by_cols: bool },
}

/// The plan for an m×k by k×n product with `threads` threads; `rhs_col_major`
/// when the right operand's columns are contiguous (x·Wᵀ of a linear layer).
fn plan(m: usize, n: usize, k: usize, rhs_col_major: bool, threads: usize) -> Plan {
    let flops = m.saturating_mul(n).saturating_mul(k);
    if threads < 2 || flops < PARALLEL_MATMUL_FLOPS.load(Ordering::Relaxed) {
        return Plan::Seq;
    }
    if flops >= BLOCK_SPLIT_MAX_FLOPS {
        return Plan::Faer;
    }
    // The side that gives more blocks; between equals, the columns of a
    // column-major right operand (x·Wᵀ at batch 32: 69–87 µs against 78–114
    // for the rows), else the rows.
    let (rows, cols) = (threads.min(m / MIN_BLOCK), threads.min(n / MIN_BLOCK));
    let by_cols = cols > rows || (cols == rows && rhs_col_major);
    let parts = rows.max(cols);
    if parts < 2 { Plan::Faer } else { Plan::Blocks { parts, by_cols } }
}

/// `dst = l·r` as [`plan`] says, leaving no dirty vector state behind on
/// any thread it used.
fn product<T: Float>(dst: MatMut<'_, T>, l: MatRef<'_, T>, r: MatRef<'_, T>) {
    product_accum(dst, l, r, Accum::Replace);
}

/// [`product`], adding to `dst` with `Accum::Add`.
fn product_accum<T: Float>(dst: MatMut<'_, T>, l: MatRef<'_, T>, r: MatRef<'_, T>, accum: Accum) {
    let threads = rayon::current_num_threads();
    match plan(dst.nrows(), dst.ncols(), l.ncols(), r.row_stride() == 1 && r.col_stride() != 1, threads) {
        Plan::Seq => {
            faer_matmul(dst, accum, l, r, T::one(), Par::Seq);
            after_faer(Par::Seq);
        }
        Plan::Faer => {
            let par = Par::rayon(0);
            faer_matmul(dst, accum, l, r, T::one(), par);
            after_faer(par);
        }
        Plan::Blocks { parts, by_cols } => {
            blocks(dst, l, r, parts, by_cols, accum);
            crate::threads::note_parallel_work();
        }
    }
}

/// [`Plan::Blocks`]: halves of the parts run through `rayon::join`, each
/// block a sequential product followed by clearing its thread's upper
/// vector state.
fn blocks<T: Float>(dst: MatMut<'_, T>, l: MatRef<'_, T>, r: MatRef<'_, T>, parts: usize, by_cols: bool, accum: Accum) {
    if parts == 1 {
        faer_matmul(dst, accum, l, r, T::one(), Par::Seq);
        after_faer(Par::Seq);
        return;
    }
    let half = parts / 2;
    let len = if by_cols { dst.ncols() } else { dst.nrows() };
    let at = len * half / parts;
    if by_cols {
        let (d0, d1) = dst.split_at_col_mut(at);
        let (r0, r1) = r.split_at_col(at);
        rayon::join(|| blocks(d0, l, r0, half, by_cols, accum), || blocks(d1, l, r1, parts - half, by_cols, accum));
    } else {
        let (d0, d1) = dst.split_at_row_mut(at);
        let (l0, l1) = l.split_at_row(at);
        rayon::join(|| blocks(d0, l0, r, half, by_cols, accum), || blocks(d1, l1, r, parts - half, by_cols, accum));
    }
}

/// A matrix stored row-major in a slice, `rows × cols` as stored, used
/// as it is or transposed: an operand of [`matmul_into`].
#[derive(Clone, Copy, Debug)]
pub struct Mat<'a, T> {
    /// `rows · cols` values, row after row.
    pub data: &'a [T],
    /// Rows as stored.
    pub rows: usize,
    /// Columns as stored.
    pub cols: usize,
    /// Use the transpose (`cols × rows`).
    pub transposed: bool,
}

impl<'a, T> Mat<'a, T> {
    /// `data` as a `rows × cols` matrix.
    pub fn new(data: &'a [T], rows: usize, cols: usize) -> Self {
        Mat { data, rows, cols, transposed: false }
    }

    /// The same values read as the transpose.
    #[must_use]
    pub fn t(self) -> Self {
        Mat { transposed: !self.transposed, ..self }
    }

    fn view(&self) -> MatRef<'a, T> {
        assert_eq!(
            self.data.len(),
            self.rows * self.cols,
            "Mat: {} values for {} × {}",
            self.data.len(),
            self.rows,
            self.cols
        );
        // SAFETY: the length is checked, so every element of the row-major
        // rows × cols view lies in `data`.
        let m = unsafe { mat_ref(self.data, 0, self.rows, self.cols, self.cols, 1) };
        if self.transposed { m.transpose() } else { m }
    }
}

/// `out = a·b`, or `out += a·b` with `accumulate`, on slices (`out`
/// row-major, `a`'s rows by `b`'s columns): the products a recurrent
/// layer makes every step, without a tensor's allocation. Threads as
/// [`Tensor::matmul`].
///
/// ```
/// use gradus_tensor::{Mat, matmul_into};
/// let (a, b) = ([1.0f64, 2.0, 3.0, 4.0], [1.0, 0.0, 0.0, 1.0]);
/// let mut out = [10.0; 4];
/// matmul_into(&mut out, Mat::new(&a, 2, 2).t(), Mat::new(&b, 2, 2), true);
/// assert_eq!(out, [11.0, 13.0, 12.0, 14.0]);
/// ```
///
/// # Panics
/// If the inner dimensions differ or `out` does not hold the product.
#[track_caller]
pub fn matmul_into<T: Float>(out: &mut [T], a: Mat<'_, T>, b: Mat<'_, T>, accumulate: bool) {
    let (l, r) = (a.view(), b.view());
    assert_eq!(l.ncols(), r.nrows(), "matmul_into: {} × {} by {} × {}", l.nrows(), l.ncols(), r.nrows(), r.ncols());
    assert_eq!(
        out.len(),
        l.nrows() * r.ncols(),
        "matmul_into: the output holds {} values, not {} × {}",
        out.len(),
        l.nrows(),
        r.ncols()
    );
    if out.is_empty() {
        return;
    }
    if l.ncols() == 0 {
        if !accumulate {
            out.fill(T::zero());
        }
        return;
    }
    let (m, n) = (l.nrows(), r.ncols());
    let accum = if accumulate { Accum::Add } else { Accum::Replace };
    product_accum(MatMut::from_row_major_slice_mut(out, m, n), l, r, accum);
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
            product(MatMut::from_row_major_slice_mut(&mut out, b * m, n), l, r);
            return out;
        }
    }

    let mut offsets = Vec::with_capacity(b);
    walk(batch, [&ls, &rs], [lhs.layout().offset, rhs.layout().offset], |[lo, ro]| offsets.push((lo, ro)));
    let one = |(&(lo, ro), chunk): (&(usize, usize), &mut [T])| {
        // SAFETY: `lo`/`ro` come from the tensors' own layouts, so every
        // element of the m×k and k×n views lies in their storage.
        let (l, r) = unsafe { (mat_ref(ld, lo, m, k, lrs, lcs), mat_ref(rd, ro, k, n, rrs, rcs)) };
        product(MatMut::from_row_major_slice_mut(chunk, m, n), l, r);
    };
    // Products each too small to split (attention's per-head products)
    // but many: whole products side by side, one per thread at a time.
    let (macs, line) = (m.saturating_mul(n).saturating_mul(k), PARALLEL_MATMUL_FLOPS.load(Ordering::Relaxed));
    if b > 1 && macs < line && b.saturating_mul(macs) >= line && rayon::current_num_threads() > 1 {
        use rayon::prelude::*;
        offsets.par_iter().zip(out.par_chunks_mut(m * n)).for_each(one);
        crate::threads::note_parallel_work();
    } else {
        offsets.iter().zip(out.chunks_mut(m * n)).for_each(one);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{Plan, blocks, plan};
    use crate::Tensor;
    use faer::linalg::matmul::matmul as faer_matmul;
    use faer::{Accum, MatMut, MatRef, Par};
    use proptest::prelude::*;

    #[test]
    fn plans_by_size_layout_and_threads() {
        let blocks = |by_cols| Plan::Blocks { parts: 2, by_cols };
        // One thread, or below the parallel line: one sequential call.
        assert_eq!(plan(128, 256, 784, true, 1), Plan::Seq);
        assert_eq!(plan(32, 128, 10, true, 2), Plan::Seq);
        // A linear layer's x·Wᵀ splits the output's columns; its backward
        // products (row-major right operands) split the rows.
        assert_eq!(plan(32, 256, 784, true, 2), blocks(true));
        assert_eq!(plan(256, 784, 32, false, 2), blocks(false));
        // Too few rows for a block each: the columns are split instead.
        assert_eq!(plan(16, 2048, 1024, false, 2), blocks(true));
        // Too narrow either way, or large: faer splits it.
        assert_eq!(plan(20, 20, 1 << 16, false, 2), Plan::Faer);
        assert_eq!(plan(512, 256, 784, true, 2), Plan::Faer);
        // One part per thread where there are blocks of 16 for it, else
        // as many as there are, on the side with more.
        assert_eq!(plan(48, 512, 512, false, 8), Plan::Blocks { parts: 8, by_cols: true });
        assert_eq!(plan(48, 40, 1 << 14, true, 8), Plan::Blocks { parts: 3, by_cols: false });
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Cutting the output into blocks changes no bit of the product:
        /// each element is the same sequential dot product of a row and a
        /// column.
        #[test]
        fn blocks_equal_one_sequential_product(
            (m, k, n) in (16usize..100, 1usize..600, 16usize..100),
            parts in 1usize..5,
            by_cols in any::<bool>(),
            rhs_t in any::<bool>(),
            seed in 0u64..1000,
        ) {
            let parts = parts.min(if by_cols { n } else { m } / super::MIN_BLOCK);
            let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(seed);
            let a = Tensor::<f32>::normal(&[m, k], 0.0, 1.0, &mut rng);
            let b = Tensor::<f32>::normal(&[k, n], 0.0, 1.0, &mut rng);
            let bt = b.t().contiguous();
            let (a, b, bt) = (a.to_vec(), b.to_vec(), bt.to_vec());
            let l = MatRef::from_row_major_slice(&a, m, k);
            let r = if rhs_t { MatRef::from_row_major_slice(&bt, n, k).transpose() } else { MatRef::from_row_major_slice(&b, k, n) };
            let mut seq = vec![0f32; m * n];
            faer_matmul(MatMut::from_row_major_slice_mut(&mut seq, m, n), Accum::Replace, l, r, 1.0, Par::Seq);
            let mut split = vec![f32::NAN; m * n];
            let pool = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap();
            pool.install(|| blocks(MatMut::from_row_major_slice_mut(&mut split, m, n), l, r, parts, by_cols, Accum::Replace));
            prop_assert_eq!(
                seq.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                split.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
            );
        }
    }

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
