//! Comparisons returning `bool` masks, `select` (torch.where) and
//! `masked_fill`.

use crate::error::{Result, or_panic};
use crate::kernel::Cost;
use crate::layout::{broadcast_shapes, walk};
use crate::storage::alloc;
use crate::{Element, Float, Tensor};
use std::iter::repeat;

macro_rules! comparison {
    ($($(#[$doc:meta])* $name:ident => $op:tt;)*) => {
        impl<T: Float> Tensor<T> {
            $(
                $(#[$doc])*
                ///
                /// # Panics
                /// If the shapes cannot be broadcast together.
                #[track_caller]
                pub fn $name(&self, other: &Self) -> Tensor<bool> {
                    or_panic(self.try_zip_map_with(other, stringify!($name), Cost::Cheap, |a, b| a $op b))
                }
            )*
        }
    };
}

comparison! {
    /// Mask of `self == other`, broadcasting.
    eq => ==;
    /// Mask of `self != other`, broadcasting.
    ne => !=;
    /// Mask of `self < other`, broadcasting.
    lt => <;
    /// Mask of `self <= other`, broadcasting.
    le => <=;
    /// Mask of `self > other`, broadcasting.
    gt => >;
    /// Mask of `self >= other`, broadcasting.
    ge => >=;
}

impl<T: Float> Tensor<T> {
    /// Mask of `self > value`.
    pub fn gt_scalar(&self, value: T) -> Tensor<bool> {
        self.map_with(Cost::Cheap, |a| a > value)
    }

    /// Mask of `self < value`.
    pub fn lt_scalar(&self, value: T) -> Tensor<bool> {
        self.map_with(Cost::Cheap, |a| a < value)
    }

    /// Mask of the NaN elements.
    pub fn isnan(&self) -> Tensor<bool> {
        self.map_with(Cost::Cheap, |a| a.is_nan())
    }

    /// Mask of the finite elements.
    pub fn isfinite(&self) -> Tensor<bool> {
        self.map_with(Cost::Cheap, |a| a.is_finite())
    }
}

impl Tensor<bool> {
    /// Element by element, `on_true` where the mask is set and `on_false`
    /// elsewhere, all three broadcast together (`torch.where(mask, a, b)`).
    ///
    /// # Panics
    /// If the three shapes cannot be broadcast together.
    ///
    /// # Examples
    /// ```
    /// use gradus_tensor::Tensor;
    /// let x = Tensor::from_vec(vec![-1.0f32, 2.0], &[2]).unwrap();
    /// let relu = x.gt_scalar(0.0).select(&x, &Tensor::zeros(&[]));
    /// assert_eq!(relu.to_vec(), vec![0.0, 2.0]);
    /// ```
    #[track_caller]
    pub fn select<T: Element>(&self, on_true: &Tensor<T>, on_false: &Tensor<T>) -> Tensor<T> {
        or_panic(self.try_select(on_true, on_false))
    }

    /// [`Tensor::select`], returning an error instead of panicking.
    ///
    /// # Errors
    /// If the shapes cannot be broadcast together.
    pub fn try_select<T: Element>(&self, on_true: &Tensor<T>, on_false: &Tensor<T>) -> Result<Tensor<T>> {
        let op = "select";
        let shape = broadcast_shapes(op, &broadcast_shapes(op, self.shape(), on_true.shape())?, on_false.shape())?;
        let ms = self.layout().broadcast_strides(op, &shape)?;
        let ts = on_true.layout().broadcast_strides(op, &shape)?;
        let fs = on_false.layout().broadcast_strides(op, &shape)?;
        let mut out = alloc(shape.iter().product());
        if let (Some(m), Some(t), Some(f)) = (dense(self, &shape), dense(on_true, &shape), dense(on_false, &shape)) {
            // The common case (ReLU and its gradient): row-major operands of
            // the output's shape or single values, in one flat pass.
            match (m, t, f) {
                (Dense(m), Dense(t), Dense(f)) => select_flat(&mut out, m, t.iter().copied(), f.iter().copied()),
                (Dense(m), Dense(t), One(f)) => select_flat(&mut out, m, t.iter().copied(), repeat(f)),
                (Dense(m), One(t), Dense(f)) => select_flat(&mut out, m, repeat(t), f.iter().copied()),
                (Dense(m), One(t), One(f)) => select_flat(&mut out, m, repeat(t), repeat(f)),
                (One(m), t, f) => {
                    let src = if m { t } else { f };
                    for (i, o) in out.iter_mut().enumerate() {
                        *o = match src {
                            Dense(v) => v[i],
                            One(v) => v,
                        };
                    }
                }
            }
            return Ok(Tensor::from_parts(out, &shape));
        }
        let (m, t, f) = (self.storage(), on_true.storage(), on_false.storage());
        let mut i = 0;
        let offsets = [self.layout().offset, on_true.layout().offset, on_false.layout().offset];
        walk(&shape, [&ms, &ts, &fs], offsets, |[a, b, c]| {
            out[i] = if m[a] { t[b] } else { f[c] };
            i += 1;
        });
        Ok(Tensor::from_parts(out, &shape))
    }

    /// Element-wise not.
    pub fn not(&self) -> Self {
        self.map_with(Cost::Cheap, |m| !m)
    }

    /// Whether any element is set.
    pub fn any(&self) -> bool {
        self.to_vec().into_iter().any(|m| m)
    }

    /// Whether every element is set.
    pub fn all(&self) -> bool {
        self.to_vec().into_iter().all(|m| m)
    }

    /// The mask as 0.0 / 1.0 floats.
    pub fn to_float<T: Float>(&self) -> Tensor<T> {
        self.map_with(Cost::Cheap, |m| if m { T::one() } else { T::zero() })
    }
}

/// An operand of a flat `select`: row-major of the output's shape, or one value.
#[derive(Clone, Copy)]
enum Flat<'a, T> {
    Dense(&'a [T]),
    One(T),
}
use Flat::{Dense, One};

fn dense<'a, T: Element>(t: &'a Tensor<T>, shape: &[usize]) -> Option<Flat<'a, T>> {
    if t.numel() == 1 {
        return Some(One(t.as_slice().map_or_else(|| t.to_vec()[0], |s| s[0])));
    }
    (t.shape() == shape).then(|| t.as_slice().map(Dense)).flatten()
}

/// Zipped iterators, not indexing: no bounds checks, no branches, so the
/// loop compiles to vector blends (a ReLU mask is unpredictable).
fn select_flat<T: Copy>(out: &mut [T], mask: &[bool], t: impl Iterator<Item = T>, f: impl Iterator<Item = T>) {
    for (((o, &m), t), f) in out.iter_mut().zip(mask).zip(t).zip(f) {
        *o = if m { t } else { f };
    }
}

impl<T: Element> Tensor<T> {
    /// `value` where `mask` (broadcast to this shape) is set, the element
    /// elsewhere, as `torch.Tensor.masked_fill`.
    ///
    /// # Panics
    /// If the mask does not broadcast to this tensor's shape.
    #[track_caller]
    pub fn masked_fill(&self, mask: &Tensor<bool>, value: T) -> Self {
        let mask = mask.broadcast_to(self.shape());
        mask.select(&Tensor::scalar(value), self)
    }
}

#[cfg(test)]
mod tests {
    use crate::Tensor;

    #[test]
    fn masks_select_and_fill() {
        let x = Tensor::from_vec(vec![1.0f64, -2.0, 3.0, -4.0], &[2, 2]).unwrap();
        let neg = x.lt_scalar(0.0);
        assert_eq!(neg.to_vec(), vec![false, true, false, true]);
        assert_eq!(x.masked_fill(&neg, 0.0).to_vec(), vec![1.0, 0.0, 3.0, 0.0]);
        let row = Tensor::from_vec(vec![true, false], &[2]).unwrap();
        assert_eq!(x.masked_fill(&row, 9.0).to_vec(), vec![9.0, -2.0, 9.0, -4.0]);
        assert_eq!(x.ge(&x.t()).to_vec(), vec![true, false, true, true]);
        assert!(neg.any() && !neg.all());
        assert_eq!(neg.to_float::<f32>().to_vec(), vec![0.0, 1.0, 0.0, 1.0]);
    }
}
