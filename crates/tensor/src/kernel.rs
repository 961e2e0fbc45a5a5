//! The two element-wise kernels every op is built on: `map` (unary) and
//! `zip_map` (binary, broadcasting), each with a contiguous fast path that the
//! compiler vectorises and rayon splitting above a size threshold that
//! depends on the cost of one element.

use crate::error::{Result, or_panic};
use crate::layout::{broadcast_shapes, walk};
use crate::storage::alloc;
use crate::vmath::Function;
use crate::{Element, Tensor};
use rayon::prelude::*;

/// Element count from which compute-bound kernels (exp, tanh, erf, a
/// user's closure) split across threads: tanh on 2 threads takes 0.64× the
/// time of one at 3 M elements and 0.52× at 10 M (interleaved medians).
pub const PARALLEL_THRESHOLD: usize = 1 << 17;
/// Element count from which memory-bound kernels (add, mul, compare, sums)
/// split across threads: a second thread adds no bandwidth below ~4 M
/// elements (f32 add against a plain loop: 0.97× sequential and 1.26×
/// parallel at 1 M, 1.13× parallel at 3 M, 0.96× at 5 M, 0.88× at 10 M).
pub const PARALLEL_THRESHOLD_CHEAP: usize = 1 << 22;
/// Elements per parallel task.
const CHUNK: usize = 1 << 15;

/// What one element of a kernel costs, which decides from what size it
/// splits across threads ([`Tensor::map_with`], [`Tensor::zip_map_with`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cost {
    /// A few instructions per element: bound by memory bandwidth.
    Cheap,
    /// A transcendental function or unknown closure: bound by compute.
    Heavy,
}

impl Cost {
    pub(crate) fn parallel_from(self) -> usize {
        match self {
            Cost::Cheap => PARALLEL_THRESHOLD_CHEAP,
            Cost::Heavy => PARALLEL_THRESHOLD,
        }
    }
}

/// Fills `out[i] = f(input[i])`, in parallel when large.
#[inline]
pub(crate) fn map_slice<A: Element, B: Element>(input: &[A], out: &mut [B], cost: Cost, f: impl Fn(A) -> B + Sync) {
    if out.len() >= cost.parallel_from() {
        out.par_chunks_mut(CHUNK)
            .zip(input.par_chunks(CHUNK))
            .for_each(|(o, i)| o.iter_mut().zip(i).for_each(|(o, &x)| *o = f(x)));
        crate::threads::note_parallel_work();
    } else {
        out.iter_mut().zip(input).for_each(|(o, &x)| *o = f(x));
    }
}

/// Fills `out[i] = f(lhs[i], rhs[i])`, in parallel when large.
#[inline]
pub(crate) fn zip_slices<A: Element, B: Element, C: Element>(
    lhs: &[A],
    rhs: &[B],
    out: &mut [C],
    cost: Cost,
    f: impl Fn(A, B) -> C + Sync,
) {
    let kernel = |o: &mut [C], l: &[A], r: &[B]| {
        for ((o, &a), &b) in o.iter_mut().zip(l).zip(r) {
            *o = f(a, b);
        }
    };
    if out.len() >= cost.parallel_from() {
        out.par_chunks_mut(CHUNK)
            .zip(lhs.par_chunks(CHUNK).zip(rhs.par_chunks(CHUNK)))
            .for_each(|(o, (l, r))| kernel(o, l, r));
        crate::threads::note_parallel_work();
    } else {
        kernel(out, lhs, rhs);
    }
}

/// `out[i] = f(input[i])` with the vector kernel of `f`, split across
/// threads from [`PARALLEL_THRESHOLD`] elements.
pub(crate) fn function_slice<T: crate::Float>(f: Function, input: &[T], out: &mut [T]) {
    if out.len() >= PARALLEL_THRESHOLD {
        out.par_chunks_mut(CHUNK).zip(input.par_chunks(CHUNK)).for_each(|(o, i)| crate::vmath::apply(f, i, o));
        crate::threads::note_parallel_work();
    } else {
        crate::vmath::apply(f, input, out);
    }
}

impl<T: crate::Float> Tensor<T> {
    /// A new tensor with the vector kernel of `f` applied to every element.
    pub(crate) fn map_function(&self, f: Function) -> Self {
        let input = self.contiguous();
        let input = input.as_slice().expect("made contiguous");
        let mut out = alloc(input.len());
        function_slice(f, input, &mut out);
        Tensor::from_parts(out, self.shape())
    }
}

impl<T: Element> Tensor<T> {
    /// A new tensor with `f` applied to every element (split across threads
    /// from [`PARALLEL_THRESHOLD`] elements).
    ///
    /// # Examples
    /// ```
    /// use gradus_tensor::Tensor;
    /// let t = Tensor::from_vec(vec![1.0f32, -2.0], &[2]).unwrap();
    /// assert_eq!(t.map(|x| x * 10.0).to_vec(), vec![10.0, -20.0]);
    /// ```
    pub fn map<U: Element>(&self, f: impl Fn(T) -> U + Sync) -> Tensor<U> {
        self.map_with(Cost::Heavy, f)
    }

    /// [`Tensor::map`] with the kernel's cost class: [`Cost::Cheap`] for a
    /// few instructions per element, which stays on one thread up to
    /// [`PARALLEL_THRESHOLD_CHEAP`] elements.
    ///
    /// # Examples
    /// ```
    /// use gradus_tensor::{Cost, Tensor};
    /// let t = Tensor::from_vec(vec![1.0f32, -2.0], &[2]).unwrap();
    /// assert_eq!(t.map_with(Cost::Cheap, |x| x.max(0.0)).to_vec(), vec![1.0, 0.0]);
    /// ```
    pub fn map_with<U: Element>(&self, cost: Cost, f: impl Fn(T) -> U + Sync) -> Tensor<U> {
        let mut out = alloc(self.numel());
        match self.as_slice() {
            Some(input) => map_slice(input, &mut out, cost, f),
            None => {
                let data = self.storage();
                let mut i = 0;
                walk(self.shape(), [self.strides()], [self.layout().offset], |[o]| {
                    out[i] = f(data[o]);
                    i += 1;
                });
            }
        }
        Tensor::from_parts(out, self.shape())
    }

    /// `f(self, other)` element by element after broadcasting both to a
    /// common shape (NumPy's rules). `op` names the operation in errors.
    ///
    /// # Panics
    /// If the shapes cannot be broadcast together.
    #[track_caller]
    pub fn zip_map<U: Element, V: Element>(
        &self,
        other: &Tensor<U>,
        op: &'static str,
        f: impl Fn(T, U) -> V + Sync,
    ) -> Tensor<V> {
        or_panic(self.try_zip_map_with(other, op, Cost::Heavy, f))
    }

    /// [`Tensor::zip_map`] with the kernel's cost class (see
    /// [`Tensor::map_with`]).
    ///
    /// # Panics
    /// If the shapes cannot be broadcast together.
    #[track_caller]
    pub fn zip_map_with<U: Element, V: Element>(
        &self,
        other: &Tensor<U>,
        op: &'static str,
        cost: Cost,
        f: impl Fn(T, U) -> V + Sync,
    ) -> Tensor<V> {
        or_panic(self.try_zip_map_with(other, op, cost, f))
    }

    /// [`Tensor::zip_map`], returning an error instead of panicking.
    ///
    /// # Errors
    /// [`TensorError::Broadcast`](crate::TensorError::Broadcast) if the shapes
    /// cannot be broadcast together.
    pub fn try_zip_map<U: Element, V: Element>(
        &self,
        other: &Tensor<U>,
        op: &'static str,
        f: impl Fn(T, U) -> V + Sync,
    ) -> Result<Tensor<V>> {
        self.try_zip_map_with(other, op, Cost::Heavy, f)
    }

    /// [`Tensor::try_zip_map`] with the kernel's cost class.
    pub(crate) fn try_zip_map_with<U: Element, V: Element>(
        &self,
        other: &Tensor<U>,
        op: &'static str,
        cost: Cost,
        f: impl Fn(T, U) -> V + Sync,
    ) -> Result<Tensor<V>> {
        // Same shape, both dense: one tight loop over two slices.
        if self.has_shape(other.shape())
            && let (Some(l), Some(r)) = (self.as_slice(), other.as_slice())
        {
            let mut out = alloc(l.len());
            zip_slices(l, r, &mut out, cost, f);
            return Ok(Tensor::from_parts(out, self.shape()));
        }
        let shape = broadcast_shapes(op, self.shape(), other.shape())?;
        // One side is a single value: a unary map over the other.
        if other.numel() == 1 && shape[..] == *self.shape() {
            let b = other.storage()[other.layout().offset];
            return Ok(self.map_with(cost, |a| f(a, b)));
        }
        if self.numel() == 1 && shape[..] == *other.shape() {
            let a = self.storage()[self.layout().offset];
            return Ok(other.map_with(cost, |b| f(a, b)));
        }
        let ls = self.layout().broadcast_strides(op, &shape)?;
        let rs = other.layout().broadcast_strides(op, &shape)?;
        let (ld, rd) = (self.storage(), other.storage());
        let mut out = alloc(shape.iter().product());
        let mut i = 0;
        walk(&shape, [&ls, &rs], [self.layout().offset, other.layout().offset], |[a, b]| {
            out[i] = f(ld[a], rd[b]);
            i += 1;
        });
        Ok(Tensor::from_parts(out, &shape))
    }
}
