//! `pad`: constant, reflect, replicate and circular padding of the last
//! axes, as `torch.nn.functional.pad`. Written with differentiable ops
//! only (a constant pad is a concatenation with constant blocks, the other
//! modes an `index_select` per axis), so it needs no rule of its own and
//! its derivatives of every order are theirs.

use crate::Var;
use crate::ops::conv::PadMode;
use gradus_tensor::{Float, Tensor};

/// Where output position `o` of an axis of `n` padded by `before` reads
/// from, or a message when the mode cannot pad this much.
fn source(n: usize, before: usize, after: usize, mode: PadMode) -> Result<Vec<usize>, String> {
    mode.fits(n, before, after)?;
    let last = n as isize - 1;
    Ok((0..n + before + after)
        .map(|o| {
            let i = o as isize - before as isize;
            let i = match mode {
                PadMode::Reflect => {
                    if i < 0 {
                        -i
                    } else if i > last {
                        2 * last - i
                    } else {
                        i
                    }
                }
                PadMode::Replicate => i.clamp(0, last),
                PadMode::Circular => i.rem_euclid(n as isize),
                PadMode::Constant => i,
            };
            i as usize
        })
        .collect())
}

impl PadMode {
    /// Whether this mode can pad an axis of `len` by (`before`, `after`), as
    /// PyTorch's `F.pad` decides: reflect needs each pad shorter than the
    /// axis, circular at most as long, replicate a non-empty axis.
    ///
    /// ```
    /// use gradus_autodiff::PadMode;
    ///
    /// assert!(PadMode::Reflect.fits(28, 27, 27).is_ok());
    /// assert!(PadMode::Reflect.fits(28, 28, 28).is_err());
    /// assert!(PadMode::Circular.fits(28, 28, 28).is_ok());
    /// ```
    pub fn fits(self, len: usize, before: usize, after: usize) -> Result<(), String> {
        let (fits, rule) = match self {
            PadMode::Reflect => (before < len && after < len, "each pad shorter than the axis"),
            PadMode::Circular => (before <= len && after <= len, "each pad at most as long as the axis"),
            PadMode::Replicate => (len > 0, "an axis of at least one element"),
            PadMode::Constant => (true, ""),
        };
        if fits {
            Ok(())
        } else {
            let name = format!("{self:?}").to_lowercase();
            Err(format!("{name} padding of ({before}, {after}) needs {rule}; the axis has {len}"))
        }
    }
}

impl<T: Float> Var<T> {
    /// `self` padded on its last `pads.len()` axes, `pads[i]` = (before,
    /// after) for axis `rank − pads.len() + i`, in axis order (PyTorch's
    /// `F.pad` lists the last axis first). `value` fills a constant pad.
    ///
    /// ```
    /// use gradus_autodiff::{PadMode, Var};
    /// use gradus_tensor::Tensor;
    ///
    /// let x = Var::constant(Tensor::from_vec(vec![1.0f64, 2.0, 3.0], &[3]).unwrap());
    /// assert_eq!(x.pad(&[(2, 1)], PadMode::Reflect, 0.0).value().to_vec(), vec![3.0, 2.0, 1.0, 2.0, 3.0, 2.0]);
    /// assert_eq!(x.pad(&[(1, 2)], PadMode::Circular, 0.0).value().to_vec(), vec![3.0, 1.0, 2.0, 3.0, 1.0, 2.0]);
    /// ```
    ///
    /// # Panics
    /// If more axes are padded than `self` has, or a reflect (circular)
    /// pad is not shorter than (as long as) its axis.
    #[track_caller]
    pub fn pad(&self, pads: &[(usize, usize)], mode: PadMode, value: T) -> Self {
        assert!(pads.len() <= self.rank(), "pad: {} axes padded on a tensor of shape {:?}", pads.len(), self.shape());
        let first = self.rank() - pads.len();
        let mut out = self.clone();
        for (i, &(before, after)) in pads.iter().enumerate() {
            let axis = first + i;
            if before == 0 && after == 0 {
                continue;
            }
            if mode == PadMode::Constant {
                let block = |len: usize| {
                    let mut shape = out.shape().to_vec();
                    shape[axis] = len;
                    Var::constant(Tensor::full(&shape, value))
                };
                let mut parts = Vec::with_capacity(3);
                if before > 0 {
                    parts.push(block(before));
                }
                parts.push(out.clone());
                if after > 0 {
                    parts.push(block(after));
                }
                out = Var::concat(&parts, axis as isize);
            } else {
                let n = out.shape()[axis];
                let src = source(n, before, after, mode).unwrap_or_else(|e| panic!("pad: axis {axis}: {e}"));
                let len = src.len();
                let index = Tensor::from_vec(src, &[len]).expect("one index per position");
                out = out.index_select(axis as isize, &index);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_of_each_mode() {
        assert_eq!(source(4, 2, 3, PadMode::Reflect).unwrap(), [2, 1, 0, 1, 2, 3, 2, 1, 0]);
        assert_eq!(source(3, 1, 2, PadMode::Replicate).unwrap(), [0, 0, 1, 2, 2, 2]);
        assert_eq!(source(3, 3, 1, PadMode::Circular).unwrap(), [0, 1, 2, 0, 1, 2, 0]);
        assert!(source(3, 3, 0, PadMode::Reflect).is_err());
        assert!(source(3, 4, 0, PadMode::Circular).is_err());
    }

    #[test]
    fn a_constant_pad_in_two_axes() {
        let x = Var::constant(Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0], &[1, 2, 2]).unwrap());
        let y = x.pad(&[(1, 0), (0, 1)], PadMode::Constant, -1.0);
        assert_eq!(y.shape(), [1, 3, 3]);
        assert_eq!(y.value().to_vec(), vec![-1.0, -1.0, -1.0, 1.0, 2.0, -1.0, 3.0, 4.0, -1.0]);
    }
}
