//! Element-wise functions of one float tensor: exp, ln, tanh, sigmoid, erf …

use crate::kernel::Cost;
use crate::vmath::Function;
use crate::{Float, Tensor};

macro_rules! vectorised {
    ($($(#[$doc:meta])* $name:ident => $f:ident;)*) => {
        impl<T: Float> Tensor<T> {
            $(
                $(#[$doc])*
                pub fn $name(&self) -> Self {
                    self.map_function(Function::$f)
                }
            )*
        }
    };
}

vectorised! {
    /// eˣ (vector kernel; see [`vmath`](crate::vmath) for its accuracy).
    exp => Exp;
    /// Natural logarithm (vector kernel).
    ln => Ln;
    /// ln(1 + x), accurate for small x (vector kernel).
    log1p => Log1p;
    /// eˣ − 1, accurate for small x (vector kernel).
    expm1 => Expm1;
    /// Hyperbolic tangent (vector kernel).
    tanh => Tanh;
    /// The logistic function σ(x) = 1/(1 + e^−x), computed without overflow
    /// for large |x| (vector kernel).
    sigmoid => Sigmoid;
    /// The error function (GELU needs it; vector kernel for f32, musl's
    /// scalar erf for f64).
    erf => Erf;
    /// softplus ln(1 + eˣ) = max(x, 0) + ln(1 + e^−|x|), finite for every
    /// finite x (vector kernel).
    softplus => Softplus;
}

macro_rules! unary {
    ($($(#[$doc:meta])* $name:ident [$cost:ident] => |$x:ident| $body:expr;)*) => {
        impl<T: Float> Tensor<T> {
            $(
                $(#[$doc])*
                pub fn $name(&self) -> Self {
                    self.map_with(Cost::$cost, |$x: T| $body)
                }
            )*
        }
    };
}

unary! {
    /// Square root.
    sqrt [Cheap] => |x| x.sqrt();
    /// Absolute value.
    abs [Cheap] => |x| x.abs();
    /// −1, 0 or 1 by the sign (0 for ±0, NaN for NaN), as `torch.sign`.
    sign [Cheap] => |x| if x > T::zero() { T::one() } else if x < T::zero() { -T::one() } else { x };
    /// 1/x.
    recip [Cheap] => |x| x.recip();
    /// Sine.
    sin [Heavy] => |x| x.sin();
    /// Cosine.
    cos [Heavy] => |x| x.cos();
    /// x².
    square [Cheap] => |x| x * x;
    /// Rounds down.
    floor [Cheap] => |x| x.floor();
    /// Rounds up.
    ceil [Cheap] => |x| x.ceil();
    /// Rounds half away from zero.
    round [Cheap] => |x| x.round();
}

/// σ(x) = 1/(1 + e^−x), evaluated on the side where the exponential cannot
/// overflow.
#[inline]
pub fn sigmoid<T: Float>(x: T) -> T {
    if x >= T::zero() {
        T::one() / (T::one() + (-x).exp())
    } else {
        let e = x.exp();
        e / (T::one() + e)
    }
}

impl<T: Float> Tensor<T> {
    /// xⁿ for an integer n.
    pub fn powi(&self, n: i32) -> Self {
        self.map_with(Cost::Heavy, |x| x.powi(n))
    }

    /// xᵖ for a float p.
    pub fn powf(&self, p: T) -> Self {
        self.map_with(Cost::Heavy, |x| x.powf(p))
    }

    /// Clamps into `[min, max]` as `torch.clamp`: `min(max(x, min), max)`,
    /// so NaN stays NaN and `min > max` gives `max` everywhere.
    ///
    /// # Panics
    /// If a bound is NaN.
    #[track_caller]
    pub fn clamp(&self, min: T, max: T) -> Self {
        assert!(!min.is_nan() && !max.is_nan(), "clamp: bounds must not be NaN, got min={min}, max={max}");
        self.map_with(Cost::Cheap, |x| {
            let lower = if x < min { min } else { x };
            if lower > max { max } else { lower }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigmoid_is_finite_at_the_extremes() {
        for x in [-1000.0f64, -80.0, 0.0, 80.0, 1000.0] {
            let s = sigmoid(x);
            assert!(s.is_finite() && (0.0..=1.0).contains(&s), "sigmoid({x}) = {s}");
        }
        assert_eq!(sigmoid(0.0f32), 0.5);
        assert!(sigmoid(-100.0f32) > 0.0);
    }

    #[test]
    fn clamp_follows_pytorch() {
        let t = Tensor::from_vec(vec![-2.0f64, 0.5, 3.0, f64::NAN], &[4]).unwrap();
        let c = t.clamp(-1.0, 1.0).to_vec();
        assert_eq!(&c[..3], &[-1.0, 0.5, 1.0]);
        assert!(c[3].is_nan());
        assert_eq!(t.clamp(2.0, 1.0).to_vec()[..3], [1.0, 1.0, 1.0]);
    }

    #[test]
    fn erf_matches_known_values() {
        let t = Tensor::from_vec(vec![0.0f64, 0.5, 1.0, -2.0], &[4]).unwrap().erf().to_vec();
        let expected = [0.0, 0.5204998778130465, 0.8427007929497149, -0.9953222650189527];
        for (a, b) in t.iter().zip(expected) {
            assert!((a - b).abs() < 1e-15, "{a} vs {b}");
        }
    }
}
