//! Scaled dot-product attention as one kernel, forward and backward:
//! O = softmax(s·Q·Kᵀ + M)·V per batch element, s = 1/√d, M the causal
//! mask or 0, with optional dropout on the weights ([`AttentionDropout`],
//! drawn by a hash of each weight's position, so never stored).
//!
//! Neither pass keeps a `[…, T, S]` tensor. The forward pass works
//! through blocks of query rows, each block's scores in one scratch tile
//! per thread, and keeps only the log-sum-exp of each row (`[…, T]`). The
//! backward pass recomputes each block's weights from Q, K and that
//! log-sum-exp (one more Q·Kᵀ product) and makes every gradient from
//! them in two tiles. Under a causal mask a block of rows reads only the
//! keys its last row may see, so about half of the score products are
//! never made.
//!
//! With P the weights of a row, W = P∘D its dropped weights (D the
//! dropout multipliers)
//! and dO its output's gradient: dV = Wᵀ·dO, dP = (dO·Vᵀ)∘D,
//! dS = P∘(dP − Σⱼ Pⱼ·dPⱼ), dQ = s·dS·K, dK = s·dSᵀ·Q.

use crate::layout::{Dims, Layout, walk};
use crate::matmul::parallel_line;
use crate::simd_state::after_faer;
use crate::softmax::{row_sum, softmax_shift};
use crate::storage::alloc;
use crate::vmath::{Function, apply_in_place};
use crate::{AttentionDropout, Float, Tensor};
use faer::linalg::matmul::matmul as faer_matmul;
use faer::{Accum, MatMut, MatRef, Par};
use rayon::prelude::*;

/// The most scores (query rows × keys) a block holds in one tile: 64 KiB
/// of f32, so a block's tiles stay in the core's L2 cache.
const TILE: usize = 1 << 14;

/// Query rows per block under a causal mask: small enough that skipping
/// the keys beyond a block's last row saves most of the masked half.
const CAUSAL_ROWS: usize = 32;

/// The sizes of one attention and the keys each query row sees.
#[derive(Clone, Copy)]
struct Geometry<T> {
    t: usize,
    s: usize,
    d: usize,
    dv: usize,
    causal: bool,
    scale: T,
}

impl<T: Float> Geometry<T> {
    /// Keys query row `i` sees: all, or under the causal mask those up to
    /// `i + (s − t)` (the queries are the last `t` positions).
    fn visible(&self, i: usize) -> usize {
        if self.causal { (i + 1 + self.s - self.t).min(self.s) } else { self.s }
    }

    /// The blocks of query rows, `(first row, rows)`.
    fn blocks(&self) -> impl Iterator<Item = (usize, usize)> {
        let by_tile = (TILE / self.s.max(1)).max(1);
        let rows = if self.causal { by_tile.min(CAUSAL_ROWS) } else { by_tile };
        let t = self.t;
        (0..t).step_by(rows).map(move |r0| (r0, rows.min(t - r0)))
    }

    /// Multiply-adds of one batch element's forward pass, to decide on threads.
    fn macs(&self) -> usize {
        self.t.saturating_mul(self.s).saturating_mul(self.d + self.dv)
    }
}

/// One operand's matrices: its storage, each batch element's offset, and
/// the strides of its rows and columns.
struct Operand<'a, T> {
    data: &'a [T],
    offsets: Vec<usize>,
    rs: usize,
    cs: usize,
    cols: usize,
}

impl<'a, T: Float> Operand<'a, T> {
    fn of(t: &'a Tensor<T>, batch: &[usize]) -> Self {
        let r = t.rank();
        let layout = Layout {
            shape: Dims::from_slice(&t.shape()[..r - 2]),
            strides: Dims::from_slice(&t.strides()[..r - 2]),
            offset: 0,
        };
        let strides = layout.broadcast_strides("attention", batch).expect("batch dims checked");
        let mut offsets = Vec::new();
        walk(batch, [&strides], [t.layout().offset], |[o]| offsets.push(o));
        if batch.is_empty() {
            offsets = vec![t.layout().offset];
        }
        Operand { data: t.storage(), offsets, rs: t.strides()[r - 2], cs: t.strides()[r - 1], cols: t.shape()[r - 1] }
    }

    /// Rows `r0 .. r0 + rows` of batch element `b`.
    fn rows(&self, b: usize, r0: usize, rows: usize) -> MatRef<'a, T> {
        // SAFETY: the offsets and strides are the tensor's own, so each of
        // these rows (within its shape) lies in its storage.
        unsafe {
            MatRef::from_raw_parts(
                self.data.as_ptr().add(self.offsets[b] + r0 * self.rs),
                rows,
                self.cols,
                self.rs as isize,
                self.cs as isize,
            )
        }
    }
}

/// `dst (=|+=) alpha · l · r` on this thread.
fn gemm<T: Float>(dst: MatMut<'_, T>, accum: Accum, l: MatRef<'_, T>, r: MatRef<'_, T>, alpha: T) {
    if l.ncols() == 0 {
        if accum == Accum::Replace {
            let mut dst = dst;
            dst.fill(T::zero());
        }
        return;
    }
    faer_matmul(dst, accum, l, r, alpha, Par::Seq);
}

/// The operands of one call, checked.
struct Inputs<'a, T: Float> {
    g: Geometry<T>,
    batch: Vec<usize>,
    q: Operand<'a, T>,
    k: Operand<'a, T>,
    v: Operand<'a, T>,
    drop: Option<AttentionDropout>,
}

impl<'a, T: Float> Inputs<'a, T> {
    #[track_caller]
    fn new(q: &'a Tensor<T>, k: &'a Tensor<T>, v: &'a Tensor<T>, causal: bool, drop: Option<AttentionDropout>) -> Self {
        let shapes = || format!("queries {:?}, keys {:?}, values {:?}", q.shape(), k.shape(), v.shape());
        assert!(q.rank() >= 2 && k.rank() >= 2 && v.rank() >= 2, "attention needs matrices: {}", shapes());
        let (rq, rk, rv) = (q.rank(), k.rank(), v.rank());
        let (t, d) = (q.shape()[rq - 2], q.shape()[rq - 1]);
        let (s, dk) = (k.shape()[rk - 2], k.shape()[rk - 1]);
        let (sv, dv) = (v.shape()[rv - 2], v.shape()[rv - 1]);
        assert!(
            dk == d && sv == s && d > 0 && dv > 0,
            "attention: {} do not fit […, T, d], […, S, d], […, S, dv] with d, dv > 0",
            shapes()
        );
        assert!(!causal || t <= s, "causal attention needs at least as many keys as queries: {}", shapes());
        let batch = [&q.shape()[..rq - 2], &k.shape()[..rk - 2], &v.shape()[..rv - 2]]
            .into_iter()
            .try_fold(Vec::new(), |acc, b| crate::broadcast_shapes("attention", &acc, b).map(|b| b.to_vec()))
            .unwrap_or_else(|_| panic!("attention: the batch dims of {} do not broadcast", shapes()));
        let scale = T::of(1.0 / (d as f64).sqrt());
        Inputs {
            g: Geometry { t, s, d, dv, causal, scale },
            q: Operand::of(q, &batch),
            k: Operand::of(k, &batch),
            v: Operand::of(v, &batch),
            batch,
            drop,
        }
    }

    fn count(&self) -> usize {
        self.batch.iter().product()
    }

    /// The dropout rows' index of batch element `b`'s first query row.
    fn first_row(&self, b: usize) -> u64 {
        (b * self.g.t) as u64
    }

    /// Whether to spread the batch over rayon's threads.
    fn parallel(&self) -> bool {
        let count = self.count();
        count > 1 && rayon::current_num_threads() > 1 && count.saturating_mul(self.g.macs()) >= parallel_line()
    }

    fn shape(&self, rows: usize, cols: usize) -> Vec<usize> {
        let mut shape = self.batch.clone();
        shape.extend([rows, cols]);
        shape
    }
}

/// Scale·Q_blk·K[..se]ᵀ for a block into `tile` (rows × se).
fn scores<T: Float>(x: &Inputs<'_, T>, b: usize, r0: usize, rows: usize, se: usize, tile: &mut [T]) {
    let q = x.q.rows(b, r0, rows);
    let k = x.k.rows(b, 0, se);
    gemm(MatMut::from_row_major_slice_mut(tile, rows, se), Accum::Replace, q, k.transpose(), x.g.scale);
}

/// One batch element's forward pass: its output rows and log-sum-exps.
fn forward_one<T: Float>(x: &Inputs<'_, T>, b: usize, out: &mut [T], lse: &mut [T], tile: &mut Vec<T>) {
    let g = &x.g;
    for (r0, rows) in g.blocks() {
        let se = g.visible(r0 + rows - 1);
        tile.resize(rows * se, T::zero());
        scores(x, b, r0, rows, se, tile);
        for (i, row) in tile.chunks_mut(se).take(rows).enumerate() {
            let (live, dead) = row.split_at_mut(g.visible(r0 + i).min(row.len()));
            let m = softmax_shift(live);
            live.iter_mut().for_each(|v| *v -= m);
            apply_in_place(Function::Exp, live);
            let total = row_sum(live);
            lse[r0 + i] = total.ln() + m;
            let inv = total.recip();
            live.iter_mut().for_each(|v| *v *= inv);
            if let Some(drop) = &x.drop {
                drop.apply_row(x.first_row(b) + (r0 + i) as u64, live);
            }
            dead.fill(T::zero());
        }
        let o = MatMut::from_row_major_slice_mut(&mut out[r0 * g.dv..(r0 + rows) * g.dv], rows, g.dv);
        gemm(o, Accum::Replace, MatRef::from_row_major_slice(tile, rows, se), x.v.rows(b, 0, se), T::one());
    }
    after_faer(Par::Seq);
}

/// A thread's scratch for [`backward_one`]: a block's weights, their
/// gradient, and its dropout multipliers.
#[derive(Default)]
struct Tiles<T> {
    p: Vec<T>,
    dp: Vec<T>,
    mask: Vec<T>,
}

/// A batch element's index and its `dq`, `dk` and `dv` chunks.
type Unit<'a, T> = (usize, ((&'a mut [T], &'a mut [T]), &'a mut [T]));

/// Gradients of one batch element: `dq` `[T, d]`, `dk` `[S, d]`, `dv` `[S, dv]`.
struct Grads<'a, T> {
    dq: &'a mut [T],
    dk: &'a mut [T],
    dv: &'a mut [T],
}

/// One batch element's backward pass from its output gradient `go` (rows
/// of `dv` values, row stride `go_rs`) and its log-sum-exps.
fn backward_one<T: Float>(
    x: &Inputs<'_, T>,
    b: usize,
    go: MatRef<'_, T>,
    lse: &[T],
    out: Grads<'_, T>,
    tiles: &mut Tiles<T>,
) {
    let g = &x.g;
    out.dk.fill(T::zero());
    out.dv.fill(T::zero());
    let Tiles { p, dp, mask } = tiles;
    for (r0, rows) in g.blocks() {
        let se = g.visible(r0 + rows - 1);
        p.resize(rows * se, T::zero());
        dp.resize(rows * se, T::zero());
        let mask = x.drop.map(|drop| {
            mask.resize(rows * se, T::zero());
            for (i, row) in mask.chunks_mut(se).enumerate() {
                drop.fill_row(x.first_row(b) + (r0 + i) as u64, row);
            }
            &mask[..]
        });
        scores(x, b, r0, rows, se, p);
        for (i, row) in p.chunks_mut(se).take(rows).enumerate() {
            let (live, dead) = row.split_at_mut(g.visible(r0 + i).min(row.len()));
            let l = lse[r0 + i];
            live.iter_mut().for_each(|v| *v -= l);
            apply_in_place(Function::Exp, live);
            dead.fill(T::zero());
        }
        let go_blk = go.subrows(r0, rows);
        let p_mat = MatRef::from_row_major_slice(p, rows, se);
        // dV += Wᵀ·dO with W = P∘D (in dp for now).
        let w = match mask {
            Some(mask) => {
                dp.iter_mut().zip(p.iter()).zip(mask).for_each(|((w, &p), &k)| *w = p * k);
                MatRef::from_row_major_slice(dp, rows, se)
            }
            None => p_mat,
        };
        let dv = MatMut::from_row_major_slice_mut(&mut out.dv[..se * g.dv], se, g.dv);
        gemm(dv, Accum::Add, w.transpose(), go_blk, T::one());
        // dP = (dO·Vᵀ)∘D, then dS = s·P∘(dP − Σ P∘dP) in place.
        let dp_mat = MatMut::from_row_major_slice_mut(dp, rows, se);
        gemm(dp_mat, Accum::Replace, go_blk, x.v.rows(b, 0, se).transpose(), T::one());
        if let Some(mask) = mask {
            dp.iter_mut().zip(mask).for_each(|(v, &k)| *v *= k);
        }
        for (dp, p) in dp.chunks_mut(se).zip(p.chunks(se)) {
            let dot = dp.iter().zip(p.iter()).fold(T::zero(), |acc, (&a, &b)| acc + a * b);
            dp.iter_mut().zip(p.iter()).for_each(|(v, &p)| *v = g.scale * p * (*v - dot));
        }
        let ds = MatRef::from_row_major_slice(dp, rows, se);
        let dq = MatMut::from_row_major_slice_mut(&mut out.dq[r0 * g.d..(r0 + rows) * g.d], rows, g.d);
        gemm(dq, Accum::Replace, ds, x.k.rows(b, 0, se), T::one());
        let dk = MatMut::from_row_major_slice_mut(&mut out.dk[..se * g.d], se, g.d);
        gemm(dk, Accum::Add, ds.transpose(), x.q.rows(b, r0, rows), T::one());
    }
    after_faer(Par::Seq);
}

impl<T: Float> Tensor<T> {
    /// Scaled dot-product attention of queries `self` `[…, T, d]` over
    /// `key` `[…, S, d]` and `value` `[…, S, dv]` (batch dims broadcast):
    /// softmax(Q·Kᵀ/√d + M)·V, `[…, T, dv]`, with M the causal mask
    /// ([`Tensor::causal_mask`]) or 0 and `dropout` (`[…, T, S]`)
    /// multiplied into the weights. Returns the output and each query
    /// row's log-sum-exp of its scores (`[…, T]`), which
    /// [`Tensor::attention_backward`] needs. No `[…, T, S]` tensor is made.
    ///
    /// # Panics
    /// If the shapes do not fit, a feature axis is empty, or `causal` with
    /// fewer keys than queries.
    ///
    /// # Examples
    /// ```
    /// use gradus_tensor::Tensor;
    /// // One query, two keys with equal scores: the mean of the values.
    /// let q = Tensor::from_vec(vec![1.0f64, 0.0], &[1, 2]).unwrap();
    /// let k = Tensor::from_vec(vec![0.0, 1.0, 0.0, 2.0], &[2, 2]).unwrap();
    /// let v = Tensor::from_vec(vec![1.0, 3.0], &[2, 1]).unwrap();
    /// let (out, lse) = q.attention(&k, &v, false, None);
    /// assert_eq!(out.to_vec(), [2.0]);
    /// assert_eq!(lse.to_vec(), [2f64.ln()]);
    /// ```
    #[track_caller]
    pub fn attention(&self, key: &Self, value: &Self, causal: bool, dropout: Option<AttentionDropout>) -> (Self, Self) {
        let x = Inputs::new(self, key, value, causal, dropout);
        let (count, g) = (x.count(), x.g);
        let mut out = alloc(count * g.t * g.dv);
        let mut lse = alloc(count * g.t);
        if g.t == 0 {
        } else if g.s == 0 {
            // Nothing to attend to: an empty sum.
            out.fill(T::zero());
            lse.fill(T::neg_infinity());
        } else if x.parallel() {
            let chunks = out.par_chunks_mut(g.t * g.dv).zip(lse.par_chunks_mut(g.t)).enumerate();
            chunks.for_each_init(Vec::new, |tile, (b, (o, l))| forward_one(&x, b, o, l, tile));
            crate::threads::note_parallel_work();
        } else {
            let mut tile = Vec::new();
            for (b, (o, l)) in out.chunks_mut(g.t * g.dv).zip(lse.chunks_mut(g.t)).enumerate() {
                forward_one(&x, b, o, l, &mut tile);
            }
        }
        (Tensor::from_parts(out, &x.shape(g.t, g.dv)), Tensor::from_parts(lse, &x.shape(g.t, 1)).squeeze(Some(-1)))
    }

    /// The gradients of [`Tensor::attention`] with respect to the queries
    /// `self`, `key` and `value`, from the output's gradient `grad` and the
    /// log-sum-exps the forward pass returned; each at the broadcast batch
    /// shape (sum over broadcast dims for an operand that had fewer).
    ///
    /// # Panics
    /// If the shapes do not fit those of the forward pass.
    ///
    /// # Examples
    /// ```
    /// use gradus_tensor::Tensor;
    /// let q = Tensor::from_vec(vec![1.0f64, 0.0], &[1, 2]).unwrap();
    /// let k = Tensor::from_vec(vec![0.0, 1.0, 0.0, 2.0], &[2, 2]).unwrap();
    /// let v = Tensor::from_vec(vec![1.0, 3.0], &[2, 1]).unwrap();
    /// let (_, lse) = q.attention(&k, &v, false, None);
    /// let [_, _, dv] = q.attention_backward(&k, &v, false, None, &lse, &Tensor::ones(&[1, 1]));
    /// assert_eq!(dv.to_vec(), [0.5, 0.5]);
    /// ```
    #[track_caller]
    #[allow(clippy::too_many_arguments)]
    pub fn attention_backward(
        &self,
        key: &Self,
        value: &Self,
        causal: bool,
        dropout: Option<AttentionDropout>,
        lse: &Self,
        grad: &Self,
    ) -> [Self; 3] {
        let x = Inputs::new(self, key, value, causal, dropout);
        let (count, g) = (x.count(), x.g);
        assert_eq!(grad.shape(), x.shape(g.t, g.dv), "attention_backward: the output's gradient");
        assert_eq!(lse.shape(), &x.shape(g.t, 1)[..x.batch.len() + 1], "attention_backward: the log-sum-exps");
        let (lse, grad) = (lse.contiguous(), grad.contiguous());
        let (lse, go) = (lse.as_slice().expect("made contiguous"), grad.as_slice().expect("made contiguous"));
        let mut dq = alloc(count * g.t * g.d);
        let mut dk = alloc(count * g.s * g.d);
        let mut dv = alloc(count * g.s * g.dv);
        if g.t == 0 || g.s == 0 {
            dq.fill(T::zero());
            dk.fill(T::zero());
            dv.fill(T::zero());
        } else {
            let one = |(b, ((dq, dk), dv)): Unit<'_, T>, tiles: &mut Tiles<T>| {
                let go = MatRef::from_row_major_slice(&go[b * g.t * g.dv..(b + 1) * g.t * g.dv], g.t, g.dv);
                backward_one(&x, b, go, &lse[b * g.t..(b + 1) * g.t], Grads { dq, dk, dv }, tiles);
            };
            let (cq, ck, cv) = (g.t * g.d, g.s * g.d, g.s * g.dv);
            if x.parallel() {
                let chunks = dq.par_chunks_mut(cq).zip(dk.par_chunks_mut(ck)).zip(dv.par_chunks_mut(cv)).enumerate();
                chunks.for_each_init(Default::default, |tiles, u| one(u, tiles));
                crate::threads::note_parallel_work();
            } else {
                let mut tiles = Tiles::default();
                dq.chunks_mut(cq)
                    .zip(dk.chunks_mut(ck))
                    .zip(dv.chunks_mut(cv))
                    .enumerate()
                    .for_each(|u| one(u, &mut tiles));
            }
        }
        [
            Tensor::from_parts(dq, &x.shape(g.t, g.d)),
            Tensor::from_parts(dk, &x.shape(g.s, g.d)),
            Tensor::from_parts(dv, &x.shape(g.s, g.dv)),
        ]
    }
}
