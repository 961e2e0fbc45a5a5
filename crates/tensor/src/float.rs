//! `Float`: the element type of arithmetic, implemented for `f32` and `f64`.

use crate::Element;
use crate::vmath::{Function, VectorMath};
use rand_distr::uniform::SampleUniform;
use std::fmt;
use std::iter::Sum;

/// A floating-point element: `f32` and `f64`, both first-class.
///
/// f64 is what gradient checks and Hessians run in; f32 is what training
/// runs in. Everything numeric in gradus is generic over this trait.
pub trait Float:
    Element
    + num_traits::Float
    + num_traits::FloatConst
    + num_traits::NumAssign
    + faer::traits::RealField
    + SampleUniform
    + Sum
    + fmt::Display
    + fmt::LowerExp
{
    /// Converts an `f64` constant, rounding to nearest for `f32`.
    fn of(value: f64) -> Self;
    /// Widens to `f64` (exact for both types).
    fn as_f64(self) -> f64;
    /// The error function, erf(x) = 2/√π ∫₀ˣ e^{−t²} dt (GELU needs it).
    fn erf(self) -> Self;
    /// Standard normal sample from the caller's generator.
    fn sample_standard_normal<R: rand::Rng + ?Sized>(rng: &mut R) -> Self;
    /// `out[i] = f(x[i])` with the vector kernels; call
    /// [`vmath::apply`](crate::vmath::apply) instead.
    #[doc(hidden)]
    fn vector_map(f: Function, x: &[Self], out: &mut [Self]);
    /// `x[i] = f(x[i])`; call [`vmath::apply_in_place`](crate::vmath::apply_in_place).
    #[doc(hidden)]
    fn vector_map_in_place(f: Function, x: &mut [Self]);
    /// The kernel compiled without vector instructions (tests).
    #[doc(hidden)]
    fn portable_kernel(f: Function, x: Self) -> Self;
}

macro_rules! vector_math {
    () => {
        #[inline]
        fn vector_map(f: Function, x: &[Self], out: &mut [Self]) {
            <Self as VectorMath>::map_at(crate::simd_level(), f, x, out)
        }
        #[inline]
        fn vector_map_in_place(f: Function, x: &mut [Self]) {
            <Self as VectorMath>::map_in_place_at(crate::simd_level(), f, x)
        }
        fn portable_kernel(f: Function, x: Self) -> Self {
            <Self as VectorMath>::portable(f, x)
        }
    };
}

impl Float for f32 {
    #[inline]
    fn of(value: f64) -> Self {
        value as f32
    }
    #[inline]
    fn as_f64(self) -> f64 {
        self as f64
    }
    #[inline]
    fn erf(self) -> Self {
        libm::erff(self)
    }
    fn sample_standard_normal<R: rand::Rng + ?Sized>(rng: &mut R) -> Self {
        rng.sample(rand_distr::StandardNormal)
    }
    vector_math!();
}

impl Float for f64 {
    #[inline]
    fn of(value: f64) -> Self {
        value
    }
    #[inline]
    fn as_f64(self) -> f64 {
        self
    }
    #[inline]
    fn erf(self) -> Self {
        libm::erf(self)
    }
    fn sample_standard_normal<R: rand::Rng + ?Sized>(rng: &mut R) -> Self {
        rng.sample(rand_distr::StandardNormal)
    }
    vector_math!();
}
