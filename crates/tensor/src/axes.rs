//! `Axes`: which axes a reduction runs over — all (`..`), one, or several.

use crate::error::Result;
use crate::layout::resolve_axis;

/// The axes of a reduction. Write `..` for all axes, an integer for one
/// (negative counts from the end), or an array/slice/`Vec` for several.
///
/// # Examples
/// ```
/// use gradus_tensor::Tensor;
/// let t = Tensor::<f32>::ones(&[2, 3, 4]);
/// assert_eq!(t.sum(.., false).item(), 24.0);
/// assert_eq!(t.sum(-1, false).shape(), &[2, 3]);
/// assert_eq!(t.sum([0, 2], true).shape(), &[1, 3, 1]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Axes {
    /// Every axis.
    All,
    /// The listed axes (duplicates are an error).
    Some(Vec<isize>),
}

impl Axes {
    /// For each axis of `shape`, whether it is reduced.
    ///
    /// # Errors
    /// If an axis is out of range or repeated; `op` names the caller.
    pub fn mask(&self, op: &'static str, shape: &[usize]) -> Result<Vec<bool>> {
        match self {
            Axes::All => Ok(vec![true; shape.len()]),
            Axes::Some(list) => {
                let mut mask = vec![false; shape.len()];
                for &axis in list {
                    let a = resolve_axis(op, axis, shape)?;
                    if std::mem::replace(&mut mask[a], true) {
                        return Err(crate::TensorError::InvalidArgument {
                            op,
                            reason: format!("axis {axis} appears twice in {list:?}"),
                        });
                    }
                }
                Ok(mask)
            }
        }
    }
}

impl From<std::ops::RangeFull> for Axes {
    fn from(_: std::ops::RangeFull) -> Self {
        Axes::All
    }
}

macro_rules! axes_from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for Axes {
            fn from(axis: $t) -> Self {
                Axes::Some(vec![axis as isize])
            }
        }
        impl<const N: usize> From<[$t; N]> for Axes {
            fn from(axes: [$t; N]) -> Self {
                Axes::Some(axes.iter().map(|&a| a as isize).collect())
            }
        }
        impl From<&[$t]> for Axes {
            fn from(axes: &[$t]) -> Self {
                Axes::Some(axes.iter().map(|&a| a as isize).collect())
            }
        }
        impl From<Vec<$t>> for Axes {
            fn from(axes: Vec<$t>) -> Self {
                Axes::Some(axes.iter().map(|&a| a as isize).collect())
            }
        }
    )*};
}
axes_from_int!(i32, i64, isize, usize);
