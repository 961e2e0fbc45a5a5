//! Element-wise arithmetic with broadcasting, powers, exp/ln/sqrt/abs,
//! clamp, maximum/minimum and where, with their backward rules and the
//! `+ - * /` operators.

use super::through_output;
use crate::Var;
use crate::var::record;
use gradus_tensor::{Float, Tensor};
use std::ops::{Add, Div, Mul, Neg, Sub};

impl<T: Float> Var<T> {
    /// `self + rhs`, broadcasting.
    #[track_caller]
    pub fn add(&self, rhs: &Self) -> Self {
        record("add", Tensor::add(&self.value, &rhs.value), &[self, rhs], |x, _, g| {
            smallvec::smallvec![Some(g.sum_to(x[0].shape())), Some(g.sum_to(x[1].shape()))]
        })
    }

    /// `self - rhs`, broadcasting.
    #[track_caller]
    pub fn sub(&self, rhs: &Self) -> Self {
        record("sub", Tensor::sub(&self.value, &rhs.value), &[self, rhs], |x, _, g| {
            smallvec::smallvec![Some(g.sum_to(x[0].shape())), Some(g.neg().sum_to(x[1].shape()))]
        })
    }

    /// `self * rhs` element by element, broadcasting.
    #[track_caller]
    pub fn mul(&self, rhs: &Self) -> Self {
        record("mul", Tensor::mul(&self.value, &rhs.value), &[self, rhs], |x, _, g| {
            smallvec::smallvec![Some(g.mul(&x[1]).sum_to(x[0].shape())), Some(g.mul(&x[0]).sum_to(x[1].shape()))]
        })
    }

    /// `self / rhs`, broadcasting.
    #[track_caller]
    pub fn div(&self, rhs: &Self) -> Self {
        record("div", Tensor::div(&self.value, &rhs.value), &[self, rhs], |x, out, g| {
            let ga = g.div(&x[1]);
            smallvec::smallvec![Some(ga.sum_to(x[0].shape())), Some(ga.mul(out).neg().sum_to(x[1].shape()))]
        })
    }

    /// `self + s` for a number `s`.
    pub fn add_scalar(&self, s: T) -> Self {
        record("add_scalar", &self.value + s, &[self], |_, _, g| smallvec::smallvec![Some(g.clone())])
    }

    /// `self · s` for a number `s`.
    pub fn mul_scalar(&self, s: T) -> Self {
        record("mul_scalar", &self.value * s, &[self], move |_, _, g| smallvec::smallvec![Some(g.mul_scalar(s))])
    }

    /// −self.
    pub fn neg(&self) -> Self {
        record("neg", -&self.value, &[self], |_, _, g| smallvec::smallvec![Some(g.neg())])
    }

    /// eˣ.
    pub fn exp(&self) -> Self {
        record("exp", self.value.exp(), &[self], |_, out, g| smallvec::smallvec![Some(g.mul(out))])
    }

    /// Natural logarithm.
    pub fn ln(&self) -> Self {
        record("ln", self.value.ln(), &[self], |x, _, g| smallvec::smallvec![Some(g.div(&x[0]))])
    }

    /// ln(1 + x).
    pub fn log1p(&self) -> Self {
        record("log1p", self.value.log1p(), &[self], |x, _, g| {
            smallvec::smallvec![Some(g.div(&x[0].add_scalar(T::one())))]
        })
    }

    /// eˣ − 1.
    pub fn expm1(&self) -> Self {
        record("expm1", self.value.expm1(), &[self], |_, out, g| {
            smallvec::smallvec![Some(g.mul(&out.add_scalar(T::one())))]
        })
    }

    /// Square root.
    pub fn sqrt(&self) -> Self {
        record("sqrt", self.value.sqrt(), &[self], |_, out, g| {
            smallvec::smallvec![Some(g.div(&out.mul_scalar(T::of(2.0))))]
        })
    }

    /// x².
    pub fn square(&self) -> Self {
        record("square", self.value.square(), &[self], |x, _, g| {
            smallvec::smallvec![Some(g.mul(&x[0]).mul_scalar(T::of(2.0)))]
        })
    }

    /// 1/x.
    pub fn recip(&self) -> Self {
        record("recip", self.value.recip(), &[self], |_, out, g| smallvec::smallvec![Some(g.mul(&out.square()).neg())])
    }

    /// xⁿ for an integer n.
    pub fn powi(&self, n: i32) -> Self {
        record("powi", self.value.powi(n), &[self], move |x, _, g| {
            let d = if n == 0 { x[0].mul_scalar(T::zero()) } else { x[0].powi(n - 1).mul_scalar(T::of(n as f64)) };
            smallvec::smallvec![Some(g.mul(&d))]
        })
    }

    /// xᵖ for a number p.
    pub fn powf(&self, p: T) -> Self {
        record("powf", self.value.powf(p), &[self], move |x, _, g| {
            smallvec::smallvec![Some(g.mul(&x[0].powf(p - T::one()).mul_scalar(p)))]
        })
    }

    /// `self` to the power `rhs`, broadcasting; differentiable in both.
    #[track_caller]
    pub fn pow(&self, rhs: &Self) -> Self {
        record("pow", self.value.pow(&rhs.value), &[self, rhs], |x, out, g| {
            let ga = g.mul(&x[1]).mul(&x[0].pow(&x[1].add_scalar(-T::one())));
            let gb = g.mul(out).mul(&x[0].ln());
            smallvec::smallvec![Some(ga.sum_to(x[0].shape())), Some(gb.sum_to(x[1].shape()))]
        })
    }

    /// |x|; the gradient at 0 is 0, as PyTorch.
    pub fn abs(&self) -> Self {
        record("abs", self.value.abs(), &[self], |x, _, g| {
            smallvec::smallvec![Some(g.mul(&Var::constant(x[0].value.sign())))]
        })
    }

    /// Sine.
    pub fn sin(&self) -> Self {
        record("sin", self.value.sin(), &[self], |x, _, g| smallvec::smallvec![Some(g.mul(&x[0].cos()))])
    }

    /// Cosine.
    pub fn cos(&self) -> Self {
        record("cos", self.value.cos(), &[self], |x, _, g| smallvec::smallvec![Some(g.mul(&x[0].sin()).neg())])
    }

    /// Hyperbolic tangent; tanh' = 1 − tanh².
    pub fn tanh(&self) -> Self {
        record("tanh", self.value.tanh(), &[self], |_, out, g| {
            let fused = |g: T, y: T| g * (T::one() - y * y);
            smallvec::smallvec![Some(through_output(g, out, fused, || g.mul(&out.square().neg().add_scalar(T::one()))))]
        })
    }

    /// σ(x) = 1/(1 + e^−x), stable for large |x|; σ' = σ(1 − σ).
    pub fn sigmoid(&self) -> Self {
        record("sigmoid", self.value.sigmoid(), &[self], |_, out, g| {
            let fused = |g: T, y: T| g * y * (T::one() - y);
            smallvec::smallvec![Some(through_output(g, out, fused, || g.mul(out).mul(&out.neg().add_scalar(T::one()))))]
        })
    }

    /// The error function; erf'(x) = 2/√π e^{−x²}.
    pub fn erf(&self) -> Self {
        record("erf", self.value.erf(), &[self], |x, _, g| {
            let two_over_sqrt_pi = T::of(std::f64::consts::FRAC_2_SQRT_PI);
            smallvec::smallvec![Some(g.mul(&x[0].square().neg().exp()).mul_scalar(two_over_sqrt_pi))]
        })
    }

    /// Clamps into `[min, max]`; the gradient passes where `min ≤ x ≤ max`,
    /// as PyTorch.
    pub fn clamp(&self, min: T, max: T) -> Self {
        record("clamp", self.value.clamp(min, max), &[self], move |x, _, g| {
            let inside = x[0].value.map(|v| if v >= min && v <= max { T::one() } else { T::zero() });
            smallvec::smallvec![Some(g.mul(&Var::constant(inside)))]
        })
    }

    /// The larger of the two, broadcasting; at ties the gradient is split
    /// half and half, as `torch.maximum`.
    #[track_caller]
    pub fn maximum(&self, rhs: &Self) -> Self {
        let value = self.value.maximum(&rhs.value);
        record("maximum", value, &[self, rhs], |x, _, g| split_by(&x[0], &x[1], g, |a, b| a > b))
    }

    /// The smaller of the two, broadcasting; ties split the gradient.
    #[track_caller]
    pub fn minimum(&self, rhs: &Self) -> Self {
        let value = self.value.minimum(&rhs.value);
        record("minimum", value, &[self, rhs], |x, _, g| split_by(&x[0], &x[1], g, |a, b| a < b))
    }

    /// `on_true` where `mask` is set, `on_false` elsewhere, all broadcast
    /// together (`torch.where`); the gradient goes to the chosen side.
    #[track_caller]
    pub fn select(mask: &Tensor<bool>, on_true: &Self, on_false: &Self) -> Self {
        let value = mask.select(&on_true.value, &on_false.value);
        let mask = mask.clone();
        record("where", value, &[on_true, on_false], move |x, _, g| {
            // A constant side (ReLU's 0) needs no gradient: skip its pass.
            let zero = Var::constant(Tensor::zeros(&[]));
            smallvec::smallvec![
                x[0].requires_grad().then(|| Var::select(&mask, g, &zero).sum_to(x[0].shape())),
                x[1].requires_grad().then(|| Var::select(&mask, &zero, g).sum_to(x[1].shape())),
            ]
        })
    }
}

/// Gradients of maximum/minimum: all to the side `wins`, half each at ties.
fn split_by<T: Float>(a: &Var<T>, b: &Var<T>, g: &Var<T>, wins: impl Fn(T, T) -> bool + Sync) -> crate::InputGrads<T> {
    let half = T::of(0.5);
    let w = a.value.zip_map(&b.value, "maximum", |x, y| {
        if wins(x, y) {
            T::one()
        } else if x == y {
            half
        } else {
            T::zero()
        }
    });
    let w = Var::constant(w);
    let ga = g.mul(&w);
    let gb = g.mul(&w.neg().add_scalar(T::one()));
    smallvec::smallvec![Some(ga.sum_to(a.shape())), Some(gb.sum_to(b.shape()))]
}

macro_rules! operator {
    ($trait:ident, $method:ident) => {
        impl<T: Float> $trait<&Var<T>> for &Var<T> {
            type Output = Var<T>;
            #[track_caller]
            fn $method(self, rhs: &Var<T>) -> Var<T> {
                Var::$method(self, rhs)
            }
        }
        impl<T: Float> $trait<Var<T>> for &Var<T> {
            type Output = Var<T>;
            #[track_caller]
            fn $method(self, rhs: Var<T>) -> Var<T> {
                Var::$method(self, &rhs)
            }
        }
        impl<T: Float> $trait<&Var<T>> for Var<T> {
            type Output = Var<T>;
            #[track_caller]
            fn $method(self, rhs: &Var<T>) -> Var<T> {
                Var::$method(&self, rhs)
            }
        }
        impl<T: Float> $trait<Var<T>> for Var<T> {
            type Output = Var<T>;
            #[track_caller]
            fn $method(self, rhs: Var<T>) -> Var<T> {
                Var::$method(&self, &rhs)
            }
        }
    };
}
operator!(Add, add);
operator!(Sub, sub);
operator!(Mul, mul);
operator!(Div, div);

macro_rules! scalar_operator {
    ($($t:ty),*) => {$(
        scalar_operator!(@one $t, Add, add, |v, s| v.add_scalar(s), |s, v| v.add_scalar(s));
        scalar_operator!(@one $t, Sub, sub, |v, s| v.add_scalar(-s), |s, v| v.neg().add_scalar(s));
        scalar_operator!(@one $t, Mul, mul, |v, s| v.mul_scalar(s), |s, v| v.mul_scalar(s));
        scalar_operator!(@one $t, Div, div, |v, s| v.mul_scalar(1.0 / s), |s, v| v.recip().mul_scalar(s));
    )*};
    (@one $t:ty, $trait:ident, $method:ident, |$v:ident, $s:ident| $var_op:expr, |$s2:ident, $v2:ident| $scalar_op:expr) => {
        impl $trait<$t> for &Var<$t> {
            type Output = Var<$t>;
            fn $method(self, $s: $t) -> Var<$t> { let $v = self; $var_op }
        }
        impl $trait<$t> for Var<$t> {
            type Output = Var<$t>;
            fn $method(self, $s: $t) -> Var<$t> { let $v = &self; $var_op }
        }
        impl $trait<&Var<$t>> for $t {
            type Output = Var<$t>;
            fn $method(self, $v2: &Var<$t>) -> Var<$t> { let $s2 = self; $scalar_op }
        }
        impl $trait<Var<$t>> for $t {
            type Output = Var<$t>;
            fn $method(self, $v2: Var<$t>) -> Var<$t> { let $s2 = self; let $v2 = &$v2; $scalar_op }
        }
    };
}
scalar_operator!(f32, f64);

impl<T: Float> Neg for &Var<T> {
    type Output = Var<T>;
    fn neg(self) -> Var<T> {
        Var::neg(self)
    }
}

impl<T: Float> Neg for Var<T> {
    type Output = Var<T>;
    fn neg(self) -> Var<T> {
        Var::neg(&self)
    }
}
