//! Vectorised transcendental functions over slices: exp, ln, log1p, expm1,
//! tanh, sigmoid, erf and softplus, for f32 and f64.
//!
//! Each function is written once, element by element and without
//! branches, and compiled three times: for AVX-512, for AVX2 with FMA, and
//! (for the scalar path) not at all — without AVX2 and FMA the standard
//! library's scalar functions run instead. The instruction set is chosen
//! at run time, so one binary runs on every x86-64 CPU; the AVX-512 and
//! AVX2 paths execute the same IEEE operations and give the same bits.
//!
//! Accuracy, as the largest error in units in the last place (ulp) against
//! the correctly rounded result, and the share of results that are not
//! correctly rounded. f32: every float of each range (`cargo run -p
//! gradus-benches --release --bin ulps f32`); f64: 50 000 arguments per
//! function spread over each range by bit pattern, against mpmath at 40
//! digits (`ulps f64 DIR`, then `benches/peers/ulps_f64.py DIR`). The AVX2
//! path on a Zen 3 EPYC; the AVX-512 path gives the same bits.
//! `tests/vmath.rs` asserts the f32 bounds over a sparser sweep.
//!
//! | function | f32 range | f32 ulp | not correctly rounded | f64 range | f64 ulp | not correctly rounded |
//! |---|---|---|---|---|---|---|
//! | exp | [−104, 89] | 1 | 0.77% | [−746, 710] | 1 | 0.12% |
//! | ln | (0, max] | 1 | 0.57% | (0, max] | 1 | 0.10% |
//! | log1p | [−1, max] | 2 | 4.6% | [−1, max] | 2 | 1.2% |
//! | expm1 | [−20, 89] | 2 | 0.55% | [−40, 710] | 1 | 0.11% |
//! | tanh | [−10, 10] | 2 | 7.7% | [−20, 20] | 2 | 2.1% |
//! | sigmoid | [−104, 104] | 2 | 5.6% | [−746, 746] | 2 | 1.4% |
//! | erf | [−4.5, 4.5] | 1 | 0.74% | [−6, 6] (musl's scalar erf) | 1 | 7.3% |
//! | softplus | [−104, 104] | 3 | 6.5% | [−746, 746] | 2 | 1.7% |
//!
//! Beyond each range the result is a constant or a special value.
//! Special values follow IEEE and PyTorch: NaN gives NaN, exp(−∞) = 0,
//! ln 0 = −∞, ln of a negative number is NaN, tanh and erf saturate at ±1.
//!
//! # Examples
//! ```
//! use gradus_tensor::vmath::{self, Function};
//! let x = [0.0f32, 1.0, -2.5];
//! let mut y = [0.0f32; 3];
//! vmath::apply(Function::Exp, &x, &mut y);
//! assert_eq!(y[0], 1.0);
//! assert!((y[1] - std::f32::consts::E).abs() <= f32::EPSILON * 3.0);
//! vmath::apply_in_place(Function::Tanh, &mut y);
//! assert!(y.iter().all(|v| v.abs() < 1.0));
//! ```

mod double;
mod single;

use crate::Float;

/// A transcendental function with a vector kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Function {
    /// eˣ.
    Exp,
    /// ln x.
    Ln,
    /// ln(1 + x).
    Log1p,
    /// eˣ − 1.
    Expm1,
    /// tanh x.
    Tanh,
    /// σ(x) = 1/(1 + e⁻ˣ).
    Sigmoid,
    /// The error function.
    Erf,
    /// ln(1 + eˣ), computed as max(x, 0) + ln(1 + e^−|x|).
    Softplus,
}

impl Function {
    /// Every function, for sweeps.
    pub const ALL: [Function; 8] = [
        Function::Exp,
        Function::Ln,
        Function::Log1p,
        Function::Expm1,
        Function::Tanh,
        Function::Sigmoid,
        Function::Erf,
        Function::Softplus,
    ];
}

/// `out[i] = f(x[i])` with the widest kernel this CPU runs.
///
/// # Panics
/// If the slices differ in length.
#[track_caller]
pub fn apply<T: Float>(f: Function, x: &[T], out: &mut [T]) {
    assert_eq!(x.len(), out.len(), "vmath::apply: input and output lengths differ");
    T::vector_map(f, x, out);
}

/// `x[i] = f(x[i])` with the widest kernel this CPU runs.
pub fn apply_in_place<T: Float>(f: Function, x: &mut [T]) {
    T::vector_map_in_place(f, x);
}

use crate::cpu::{SimdLevel, simd_level};

#[inline(always)]
fn each<T: Copy>(x: &[T], out: &mut [T], k: impl Fn(T) -> T) {
    for (o, &v) in out.iter_mut().zip(x) {
        *o = k(v);
    }
}

#[inline(always)]
fn each_in_place<T: Copy>(x: &mut [T], k: impl Fn(T) -> T) {
    for v in x {
        *v = k(*v);
    }
}

/// A loop over a slice of one type, compiled for one instruction set.
type Loop<T> = unsafe fn(&[T], &mut [T]);
/// The same loop in place.
type LoopInPlace<T> = unsafe fn(&mut [T]);

/// One kernel's loops: a module `$name` with `avx2`, `avx512` and their
/// in-place forms, each calling the kernel directly so that it is inlined
/// into the loop and compiled with the loop's instruction set. (Passed as a
/// closure or a function value, a large kernel may be left out of line and
/// compiled without FMA, where each fused multiply-add is a libm call.)
macro_rules! loops {
    ($name:ident, $t:ty, $kernel:path) => {
        mod $name {
            #[cfg_attr(target_arch = "x86_64", target_feature(enable = "avx2,fma"))]
            pub(super) unsafe fn avx2(x: &[$t], out: &mut [$t]) {
                for (o, &v) in out.iter_mut().zip(x) {
                    *o = $kernel(v);
                }
            }
            #[cfg_attr(target_arch = "x86_64", target_feature(enable = "avx2,fma"))]
            pub(super) unsafe fn avx2_in_place(x: &mut [$t]) {
                for v in x {
                    *v = $kernel(*v);
                }
            }
            #[cfg_attr(target_arch = "x86_64", target_feature(enable = "avx512f,avx2,fma"))]
            pub(super) unsafe fn avx512(x: &[$t], out: &mut [$t]) {
                for (o, &v) in out.iter_mut().zip(x) {
                    *o = $kernel(v);
                }
            }
            #[cfg_attr(target_arch = "x86_64", target_feature(enable = "avx512f,avx2,fma"))]
            pub(super) unsafe fn avx512_in_place(x: &mut [$t]) {
                for v in x {
                    *v = $kernel(*v);
                }
            }
        }
    };
}

loops!(exp32, f32, super::single::exp);
loops!(ln32, f32, super::single::ln);
loops!(log1p32, f32, super::single::log1p);
loops!(expm132, f32, super::single::expm1);
loops!(tanh32, f32, super::single::tanh);
loops!(sigmoid32, f32, super::single::sigmoid);
loops!(erf32, f32, super::single::erf);
loops!(softplus32, f32, super::single::softplus);
loops!(exp64, f64, super::double::exp);
loops!(ln64, f64, super::double::ln);
loops!(log1p64, f64, super::double::log1p);
loops!(expm164, f64, super::double::expm1);
loops!(tanh64, f64, super::double::tanh);
loops!(sigmoid64, f64, super::double::sigmoid);
loops!(erf64, f64, libm::erf);
loops!(softplus64, f64, super::double::softplus);

/// Runs the loop for `level`, or `scalar` (the standard library's
/// function) on the scalar level.
#[inline(always)]
fn run<T: Copy>(level: SimdLevel, x: &[T], out: &mut [T], loops: (Loop<T>, Loop<T>), scalar: impl Fn(T) -> T) {
    match level {
        // SAFETY: `level` is at most what `simd_level()` found on this CPU.
        SimdLevel::Avx512 => unsafe { (loops.1)(x, out) },
        // SAFETY: as above.
        SimdLevel::Avx2 => unsafe { (loops.0)(x, out) },
        SimdLevel::Scalar => each(x, out, scalar),
    }
}

/// [`run`] in place.
#[inline(always)]
fn run_in_place<T: Copy>(
    level: SimdLevel,
    x: &mut [T],
    loops: (LoopInPlace<T>, LoopInPlace<T>),
    scalar: impl Fn(T) -> T,
) {
    match level {
        // SAFETY: `level` is at most what `simd_level()` found on this CPU.
        SimdLevel::Avx512 => unsafe { (loops.1)(x) },
        // SAFETY: as above.
        SimdLevel::Avx2 => unsafe { (loops.0)(x) },
        SimdLevel::Scalar => each_in_place(x, scalar),
    }
}

/// The scalar path's softplus.
fn softplus_scalar<T: Float>(x: T) -> T {
    x.max(T::zero()) + (-x.abs()).exp().ln_1p()
}

/// The out-of-place and in-place loop pairs of a `loops!` module.
macro_rules! pair {
    ($m:ident) => {
        ($m::avx2 as Loop<_>, $m::avx512 as Loop<_>)
    };
    ($m:ident, in_place) => {
        ($m::avx2_in_place as LoopInPlace<_>, $m::avx512_in_place as LoopInPlace<_>)
    };
}

/// The dispatch of one element type: `$m` the kernels' module, then each
/// function's loops module and scalar fallback.
macro_rules! dispatch {
    ($t:ty, $m:ident, $erf_kernel:path, $erf_scalar:path,
     $exp:ident, $ln:ident, $log1p:ident, $expm1:ident, $tanh:ident, $sigmoid:ident, $erf:ident, $softplus:ident) => {
        impl VectorMath for $t {
            fn map_at(level: SimdLevel, f: Function, x: &[$t], out: &mut [$t]) {
                match f {
                    Function::Exp => run(level, x, out, pair!($exp), <$t>::exp),
                    Function::Ln => run(level, x, out, pair!($ln), <$t>::ln),
                    Function::Log1p => run(level, x, out, pair!($log1p), <$t>::ln_1p),
                    Function::Expm1 => run(level, x, out, pair!($expm1), <$t>::exp_m1),
                    Function::Tanh => run(level, x, out, pair!($tanh), <$t>::tanh),
                    Function::Sigmoid => run(level, x, out, pair!($sigmoid), crate::sigmoid::<$t>),
                    Function::Erf => run(level, x, out, pair!($erf), $erf_scalar),
                    Function::Softplus => run(level, x, out, pair!($softplus), softplus_scalar::<$t>),
                }
            }

            fn map_in_place_at(level: SimdLevel, f: Function, x: &mut [$t]) {
                match f {
                    Function::Exp => run_in_place(level, x, pair!($exp, in_place), <$t>::exp),
                    Function::Ln => run_in_place(level, x, pair!($ln, in_place), <$t>::ln),
                    Function::Log1p => run_in_place(level, x, pair!($log1p, in_place), <$t>::ln_1p),
                    Function::Expm1 => run_in_place(level, x, pair!($expm1, in_place), <$t>::exp_m1),
                    Function::Tanh => run_in_place(level, x, pair!($tanh, in_place), <$t>::tanh),
                    Function::Sigmoid => run_in_place(level, x, pair!($sigmoid, in_place), crate::sigmoid::<$t>),
                    Function::Erf => run_in_place(level, x, pair!($erf, in_place), $erf_scalar),
                    Function::Softplus => run_in_place(level, x, pair!($softplus, in_place), softplus_scalar::<$t>),
                }
            }

            fn portable(f: Function, x: $t) -> $t {
                match f {
                    Function::Exp => $m::exp(x),
                    Function::Ln => $m::ln(x),
                    Function::Log1p => $m::log1p(x),
                    Function::Expm1 => $m::expm1(x),
                    Function::Tanh => $m::tanh(x),
                    Function::Sigmoid => $m::sigmoid(x),
                    Function::Erf => $erf_kernel(x),
                    Function::Softplus => $m::softplus(x),
                }
            }
        }
    };
}

/// The kernels of one element type at a chosen level (the element types'
/// `Float::vector_map` calls these at [`level`]).
pub(crate) trait VectorMath: Sized {
    fn map_at(level: SimdLevel, f: Function, x: &[Self], out: &mut [Self]);
    fn map_in_place_at(level: SimdLevel, f: Function, x: &mut [Self]);
    /// The kernel on one element, compiled without vector instructions
    /// (its fused multiply-adds in software): the same bits as the vector
    /// paths, slowly. For tests.
    fn portable(f: Function, x: Self) -> Self;
}

dispatch!(f32, single, single::erf, libm::erff, exp32, ln32, log1p32, expm132, tanh32, sigmoid32, erf32, softplus32);
dispatch!(f64, double, libm::erf, libm::erf, exp64, ln64, log1p64, expm164, tanh64, sigmoid64, erf64, softplus64);

/// The kernel on each element compiled without vector instructions, to
/// check that the vector paths give the same bits. Slow; for tests.
#[doc(hidden)]
pub fn portable<T: Float>(f: Function, x: &[T]) -> Vec<T> {
    x.iter().map(|&v| T::portable_kernel(f, v)).collect()
}

/// The path [`apply`] takes on this CPU: `"avx512"`, `"avx2"` or
/// `"scalar"` (the standard library's functions).
pub fn path() -> &'static str {
    match simd_level() {
        SimdLevel::Avx512 => "avx512",
        SimdLevel::Avx2 => "avx2",
        SimdLevel::Scalar => "scalar",
    }
}
