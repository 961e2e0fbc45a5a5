//! `Layout`: shape, strides and offset, and the strided walk every kernel uses.
//!
//! Views (transpose, permute, narrow, expand, squeeze, reshape of contiguous
//! data) are pure layout changes over the same storage.

use crate::error::{Result, TensorError};

/// Dimensions or strides: inline up to rank 4, so making, cloning and
/// dropping the layout of an ordinary tensor never touches the heap.
pub type Dims = smallvec::SmallVec<[usize; 4]>;

/// Row-major strides of a contiguous tensor of `shape`.
#[inline]
pub fn contiguous_strides(shape: &[usize]) -> Dims {
    let mut strides = Dims::from_elem(0, shape.len());
    let mut acc = 1;
    for (stride, &dim) in strides.iter_mut().zip(shape).rev() {
        *stride = acc;
        acc *= dim;
    }
    strides
}

/// The broadcast shape of `lhs` and `rhs` under NumPy's rules: align from the
/// right; each pair of dims must be equal or one of them 1.
pub fn broadcast_shapes(op: &'static str, lhs: &[usize], rhs: &[usize]) -> Result<Dims> {
    let rank = lhs.len().max(rhs.len());
    let mut out = Dims::from_elem(0, rank);
    for i in 0..rank {
        let l = if i < rank - lhs.len() { 1 } else { lhs[i - (rank - lhs.len())] };
        let r = if i < rank - rhs.len() { 1 } else { rhs[i - (rank - rhs.len())] };
        out[i] = match (l, r) {
            (a, b) if a == b => a,
            (1, b) => b,
            (a, 1) => a,
            _ => {
                return Err(TensorError::Broadcast { op, lhs: lhs.to_vec(), rhs: rhs.to_vec() });
            }
        };
    }
    Ok(out)
}

/// Resolves a possibly negative axis (`-1` is the last) against `shape`.
pub fn resolve_axis(op: &'static str, axis: isize, shape: &[usize]) -> Result<usize> {
    resolve_axis_rank(op, axis, shape.len(), shape)
}

/// Resolves an axis against `rank` (which may exceed `shape.len()`, e.g. for
/// `unsqueeze` and `stack`, which insert an axis).
pub(crate) fn resolve_axis_rank(op: &'static str, axis: isize, rank: usize, shape: &[usize]) -> Result<usize> {
    let resolved = if axis < 0 { axis + rank as isize } else { axis };
    if resolved < 0 || resolved >= rank as isize {
        return Err(TensorError::AxisOutOfRange { op, axis, rank: shape.len(), shape: shape.to_vec() });
    }
    Ok(resolved as usize)
}

/// Shape, strides (in elements) and offset of a tensor into its storage.
#[derive(Debug, PartialEq, Eq)]
pub struct Layout {
    pub(crate) shape: Dims,
    pub(crate) strides: Dims,
    pub(crate) offset: usize,
}

impl Clone for Layout {
    /// Block copies of the inline dims: `SmallVec`'s own `clone` goes element
    /// by element, and tensors (hence layouts) are cloned on every recorded op.
    fn clone(&self) -> Self {
        Self { shape: copy_dims(&self.shape), strides: copy_dims(&self.strides), offset: self.offset }
    }
}

#[inline]
fn copy_dims(dims: &Dims) -> Dims {
    if dims.spilled() {
        return Dims::from_slice(dims);
    }
    // SAFETY: an unspilled `SmallVec` of `Copy` elements owns no heap memory,
    // so a bitwise copy is an independent, valid value (dropping either
    // frees nothing).
    unsafe { std::ptr::read(dims) }
}

impl Layout {
    /// A contiguous row-major layout of `shape` at offset 0.
    #[inline]
    pub fn contiguous(shape: &[usize]) -> Self {
        Self { shape: Dims::from_slice(shape), strides: contiguous_strides(shape), offset: 0 }
    }

    /// Whether shape and strides are inline (no heap memory).
    #[inline]
    pub(crate) fn is_inline(&self) -> bool {
        !self.shape.spilled() && !self.strides.spilled()
    }

    /// The number of elements.
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    /// Whether the elements are laid out densely in row-major order
    /// (size-1 dims may have any stride).
    pub fn is_contiguous(&self) -> bool {
        let mut expected = 1;
        for (&dim, &stride) in self.shape.iter().zip(&self.strides).rev() {
            if dim != 1 && stride != expected {
                return false;
            }
            expected *= dim;
        }
        true
    }

    /// The storage range `offset..offset + numel` if contiguous.
    pub(crate) fn contiguous_range(&self) -> Option<std::ops::Range<usize>> {
        self.is_contiguous().then(|| self.offset..self.offset + self.numel())
    }

    /// Strides of this layout seen as `shape` (which it broadcasts to): new
    /// leading dims and expanded size-1 dims get stride 0.
    pub(crate) fn broadcast_strides(&self, op: &'static str, shape: &[usize]) -> Result<Dims> {
        let extra = shape.len().checked_sub(self.shape.len()).ok_or_else(|| TensorError::Broadcast {
            op,
            lhs: self.shape.to_vec(),
            rhs: shape.to_vec(),
        })?;
        let mut strides = Dims::from_elem(0, shape.len());
        for (i, (&dim, &stride)) in self.shape.iter().zip(&self.strides).enumerate() {
            let target = shape[i + extra];
            strides[i + extra] = if dim == target {
                stride
            } else if dim == 1 {
                0
            } else {
                return Err(TensorError::Broadcast { op, lhs: self.shape.to_vec(), rhs: shape.to_vec() });
            };
        }
        Ok(strides)
    }

    /// Strides for viewing this layout with `shape` without copying, if the
    /// existing strides allow it (as `torch.Tensor.view` decides).
    pub(crate) fn reshape_strides(&self, shape: &[usize]) -> Option<Dims> {
        if self.is_contiguous() {
            return Some(contiguous_strides(shape));
        }
        // Group old dims into chunks that are contiguous among themselves and
        // match them to runs of new dims with the same element count.
        let old: Vec<(usize, usize)> =
            self.shape.iter().zip(&self.strides).filter(|(d, _)| **d != 1).map(|(d, s)| (*d, *s)).collect();
        let mut new_strides = Dims::from_elem(0, shape.len());
        let (mut oi, mut ni) = (0, 0);
        while oi < old.len() {
            // A chunk of old dims [oi, oj) that is internally contiguous.
            let mut oj = oi + 1;
            let mut chunk = old[oi].0;
            while oj < old.len() && old[oj - 1].1 == old[oj].0 * old[oj].1 {
                chunk *= old[oj].0;
                oj += 1;
            }
            let inner_stride = old[oj - 1].1;
            // New dims covering exactly `chunk` elements.
            let mut count = 1;
            let start = ni;
            while ni < shape.len() && (count < chunk || shape[ni] == 1) {
                if count == chunk && shape[ni] == 1 {
                    break;
                }
                count *= shape[ni];
                ni += 1;
            }
            if count != chunk {
                return None;
            }
            let mut acc = inner_stride;
            for k in (start..ni).rev() {
                new_strides[k] = acc;
                acc *= shape[k];
            }
            oi = oj;
        }
        // Remaining new dims must all be 1.
        shape[ni..].iter().all(|&d| d == 1).then_some(new_strides)
    }
}

/// Walks `shape` in row-major order, calling `f` with the storage offsets of
/// `N` operands (each with its own strides and start offset). The innermost
/// dimension runs as a tight loop; nothing is allocated per element.
#[inline]
pub(crate) fn walk<const N: usize>(
    shape: &[usize],
    strides: [&[usize]; N],
    offsets: [usize; N],
    mut f: impl FnMut([usize; N]),
) {
    let rank = shape.len();
    if shape.contains(&0) {
        return;
    }
    if rank == 0 {
        f(offsets);
        return;
    }
    let inner = shape[rank - 1];
    let inner_strides: [usize; N] = std::array::from_fn(|k| strides[k][rank - 1]);
    let mut index = vec![0usize; rank - 1];
    let mut base = offsets;
    loop {
        let mut at = base;
        for _ in 0..inner {
            f(at);
            for k in 0..N {
                at[k] += inner_strides[k];
            }
        }
        // Odometer increment over the outer dims.
        let mut d = rank - 1;
        loop {
            if d == 0 {
                return;
            }
            d -= 1;
            index[d] += 1;
            for k in 0..N {
                base[k] += strides[k][d];
            }
            if index[d] < shape[d] {
                break;
            }
            for k in 0..N {
                base[k] -= strides[k][d] * shape[d];
            }
            index[d] = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcasting_follows_numpy() {
        assert_eq!(broadcast_shapes("t", &[3, 1, 5], &[4, 1]).unwrap()[..], [3, 4, 5]);
        assert_eq!(broadcast_shapes("t", &[], &[2, 3]).unwrap()[..], [2, 3]);
        let err = broadcast_shapes("add", &[2, 3], &[4]).unwrap_err();
        assert_eq!(err.to_string(), "add: shapes [2, 3] and [4] cannot be broadcast together");
    }

    #[test]
    fn walk_visits_transposed_offsets_in_logical_order() {
        let mut seen = vec![];
        walk(&[3, 2], [&[1, 3]], [0], |[o]| seen.push(o));
        assert_eq!(seen, vec![0, 3, 1, 4, 2, 5]);
    }

    #[test]
    fn reshape_of_a_narrowed_view_keeps_strides() {
        // A [4, 6] tensor narrowed to columns 0..6 of rows 1..3 is contiguous
        // rows; splitting the last dim is a view.
        let layout = Layout { shape: smallvec::smallvec![2, 6], strides: smallvec::smallvec![6, 1], offset: 6 };
        assert_eq!(layout.reshape_strides(&[2, 2, 3]), Some(smallvec::smallvec![6, 3, 1]));
        // A transposed matrix cannot be flattened without a copy.
        let t = Layout { shape: smallvec::smallvec![3, 2], strides: smallvec::smallvec![1, 3], offset: 0 };
        assert_eq!(t.reshape_strides(&[6]), None);
        assert_eq!(t.reshape_strides(&[3, 1, 2]), Some(smallvec::smallvec![1, 6, 3]));
    }
}
