//! Broadcasting arithmetic: add, sub, mul, div, maximum, minimum, pow, and
//! the `+ - * /` operators for owned and borrowed tensors and scalars.

use crate::error::{Result, or_panic};
use crate::kernel::Cost;
use crate::{Float, Tensor};
use std::ops::{Add, Div, Mul, Neg, Sub};

macro_rules! binary {
    ($($(#[$doc:meta])* $name:ident, $try_name:ident [$cost:ident] => |$a:ident, $b:ident| $body:expr;)*) => {
        impl<T: Float> Tensor<T> {
            $(
                $(#[$doc])*
                ///
                /// # Panics
                /// If the shapes cannot be broadcast together.
                #[track_caller]
                pub fn $name(&self, other: &Self) -> Self {
                    or_panic(self.$try_name(other))
                }

                #[doc = concat!("[`Tensor::", stringify!($name), "`], returning an error instead of panicking.")]
                ///
                /// # Errors
                /// [`TensorError::Broadcast`](crate::TensorError::Broadcast) if
                /// the shapes cannot be broadcast together.
                pub fn $try_name(&self, other: &Self) -> Result<Self> {
                    self.try_zip_map_with(other, stringify!($name), Cost::$cost, |$a: T, $b: T| $body)
                }
            )*
        }
    };
}

binary! {
    /// `self + other`, broadcasting.
    add, try_add [Cheap] => |a, b| a + b;
    /// `self - other`, broadcasting.
    sub, try_sub [Cheap] => |a, b| a - b;
    /// `self * other` element by element, broadcasting.
    mul, try_mul [Cheap] => |a, b| a * b;
    /// `self / other`, broadcasting.
    div, try_div [Cheap] => |a, b| a / b;
    /// The larger of the two, NaN if either is NaN (as `torch.maximum`).
    maximum, try_maximum [Cheap] => |a, b| if a.is_nan() || b.is_nan() { T::nan() } else if a >= b { a } else { b };
    /// The smaller of the two, NaN if either is NaN (as `torch.minimum`).
    minimum, try_minimum [Cheap] => |a, b| if a.is_nan() || b.is_nan() { T::nan() } else if a <= b { a } else { b };
    /// `self` to the power `other`, broadcasting.
    pow, try_pow [Heavy] => |a, b| a.powf(b);
}

macro_rules! operator {
    ($trait:ident, $method:ident, $op:tt) => {
        impl<T: Float> $trait<&Tensor<T>> for &Tensor<T> {
            type Output = Tensor<T>;
            #[track_caller]
            fn $method(self, rhs: &Tensor<T>) -> Tensor<T> {
                Tensor::$method(self, rhs)
            }
        }
        impl<T: Float> $trait<Tensor<T>> for &Tensor<T> {
            type Output = Tensor<T>;
            #[track_caller]
            fn $method(self, rhs: Tensor<T>) -> Tensor<T> {
                Tensor::$method(self, &rhs)
            }
        }
        impl<T: Float> $trait<&Tensor<T>> for Tensor<T> {
            type Output = Tensor<T>;
            #[track_caller]
            fn $method(self, rhs: &Tensor<T>) -> Tensor<T> {
                Tensor::$method(&self, rhs)
            }
        }
        impl<T: Float> $trait<Tensor<T>> for Tensor<T> {
            type Output = Tensor<T>;
            #[track_caller]
            fn $method(self, rhs: Tensor<T>) -> Tensor<T> {
                Tensor::$method(&self, &rhs)
            }
        }
        impl<T: Float> $trait<T> for &Tensor<T> {
            type Output = Tensor<T>;
            fn $method(self, rhs: T) -> Tensor<T> {
                self.map_with(Cost::Cheap, |a| a $op rhs)
            }
        }
        impl<T: Float> $trait<T> for Tensor<T> {
            type Output = Tensor<T>;
            fn $method(self, rhs: T) -> Tensor<T> {
                self.map_with(Cost::Cheap, |a| a $op rhs)
            }
        }
        operator!(@scalar_lhs $trait, $method, $op, f32);
        operator!(@scalar_lhs $trait, $method, $op, f64);
    };
    (@scalar_lhs $trait:ident, $method:ident, $op:tt, $t:ty) => {
        impl $trait<&Tensor<$t>> for $t {
            type Output = Tensor<$t>;
            fn $method(self, rhs: &Tensor<$t>) -> Tensor<$t> {
                rhs.map_with(Cost::Cheap, |b| self $op b)
            }
        }
        impl $trait<Tensor<$t>> for $t {
            type Output = Tensor<$t>;
            fn $method(self, rhs: Tensor<$t>) -> Tensor<$t> {
                rhs.map_with(Cost::Cheap, |b| self $op b)
            }
        }
    };
}

operator!(Add, add, +);
operator!(Sub, sub, -);
operator!(Mul, mul, *);
operator!(Div, div, /);

impl<T: Float> Neg for &Tensor<T> {
    type Output = Tensor<T>;
    fn neg(self) -> Tensor<T> {
        self.map_with(Cost::Cheap, |a| -a)
    }
}

impl<T: Float> Neg for Tensor<T> {
    type Output = Tensor<T>;
    fn neg(self) -> Tensor<T> {
        self.map_with(Cost::Cheap, |a| -a)
    }
}

#[cfg(test)]
mod tests {
    use crate::Tensor;

    #[test]
    fn operators_broadcast_and_take_scalars() {
        let a = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).unwrap();
        let b = Tensor::from_vec(vec![10.0f32, 20.0, 30.0], &[3]).unwrap();
        assert_eq!((&a + &b).to_vec(), vec![11.0, 22.0, 33.0, 14.0, 25.0, 36.0]);
        assert_eq!((2.0 * &a - 1.0).to_vec(), vec![1.0, 3.0, 5.0, 7.0, 9.0, 11.0]);
        assert_eq!((1.0 / a.narrow(1, 0, 1)).to_vec(), vec![1.0, 0.25]);
        assert_eq!((-(a.clone() / b.clone())).shape(), &[2, 3]);
        let col = Tensor::from_vec(vec![1.0f32, 2.0], &[2, 1]).unwrap();
        assert_eq!((&col * &b).to_vec(), vec![10.0, 20.0, 30.0, 20.0, 40.0, 60.0]);
    }

    #[test]
    fn shape_errors_name_the_op_and_shapes() {
        let a = Tensor::<f64>::zeros(&[2, 3]);
        let b = Tensor::<f64>::zeros(&[2]);
        let err = a.try_mul(&b).unwrap_err().to_string();
        assert_eq!(err, "mul: shapes [2, 3] and [2] cannot be broadcast together");
        let panic = std::panic::catch_unwind(|| &a + &b).unwrap_err();
        assert_eq!(panic.downcast_ref::<String>().unwrap(), "add: shapes [2, 3] and [2] cannot be broadcast together");
    }

    #[test]
    fn maximum_propagates_nan() {
        let a = Tensor::from_vec(vec![1.0f64, f64::NAN, 3.0], &[3]).unwrap();
        let b = Tensor::from_vec(vec![2.0f64, 0.0, f64::NAN], &[3]).unwrap();
        let m = a.maximum(&b).to_vec();
        assert_eq!(m[0], 2.0);
        assert!(m[1].is_nan() && m[2].is_nan());
    }
}
