//! The vector kernels against correctly rounded results over dense sweeps,
//! the vector paths against the same kernel compiled without vectors (the
//! same bits), and the special values.
//!
//! f32 results are compared with the f64 function rounded to f32, which is
//! the correctly rounded value except where the true value lies within
//! 2⁻²⁹ ulp of a rounding boundary. f64 results are compared with the
//! platform's libm (glibc's exp, log, log1p, expm1 and tanh are within an
//! ulp of the true value; musl's erf, which the f64 erf is, gives 0).

use gradus_tensor::vmath::{self, Function};

use gradus_tensor::testing::{ulps_f32 as ulps32, ulps_f64 as ulps64, vmath_reference as reference};

/// The sweep's range of each function, and the bound asserted (f32, f64).
fn range(f: Function) -> ((f64, f64), (f64, f64), u64, u64) {
    match f {
        Function::Exp => ((-104.0, 89.0), (-746.0, 710.0), 1, 1),
        Function::Ln => ((0.0, f64::from(f32::MAX)), (0.0, f64::MAX), 1, 1),
        Function::Log1p => ((-1.0, 1e6), (-1.0, 1e6), 2, 2),
        Function::Expm1 => ((-20.0, 89.0), (-40.0, 710.0), 2, 2),
        Function::Tanh => ((-10.0, 10.0), (-20.0, 20.0), 2, 3),
        Function::Sigmoid => ((-100.0, 100.0), (-700.0, 700.0), 2, 2),
        Function::Erf => ((-5.0, 5.0), (-5.0, 5.0), 1, 0),
        Function::Softplus => ((-100.0, 100.0), (-700.0, 700.0), 3, 3),
    }
}

/// Every `stride`-th f32 between `lo` and `hi` by bit pattern, both signs:
/// dense in every binade, including the subnormals.
fn f32_sweep(lo: f64, hi: f64, stride: u32) -> Vec<f32> {
    let mut v = Vec::new();
    for sign in [0u32, 0x8000_0000] {
        let mut bits = 0u32;
        while bits < 0x7f80_0000 {
            let x = f32::from_bits(bits | sign);
            if f64::from(x) >= lo && f64::from(x) <= hi {
                v.push(x);
            }
            bits += stride;
        }
    }
    v
}

fn f64_sweep(lo: f64, hi: f64, stride: u64) -> Vec<f64> {
    let mut v = Vec::new();
    for sign in [0u64, 1 << 63] {
        let mut bits = 0u64;
        while bits < 0x7ff0_0000_0000_0000 {
            let x = f64::from_bits(bits | sign);
            if x >= lo && x <= hi {
                v.push(x);
            }
            bits += stride;
        }
    }
    v
}

#[test]
fn f32_kernels_are_within_their_documented_ulps() {
    for f in Function::ALL {
        let ((lo, hi), _, bound, _) = range(f);
        let x = f32_sweep(lo, hi, 997);
        let mut y = vec![0.0f32; x.len()];
        vmath::apply(f, &x, &mut y);
        let (worst, at) = x
            .iter()
            .zip(&y)
            .map(|(&x, &y)| (ulps32(y, reference(f, f64::from(x)) as f32), x))
            .max_by_key(|p| p.0)
            .unwrap();
        eprintln!("{f:?} f32 on {}: {worst} ulp at {at:e} ({} points)", vmath::path(), x.len());
        assert!(worst <= bound, "{f:?}({at:e}): {worst} ulp, documented {bound}");
    }
}

#[test]
fn f64_kernels_are_within_their_documented_ulps() {
    for f in Function::ALL {
        let (_, (lo, hi), _, bound) = range(f);
        let x = f64_sweep(lo, hi, 1 << 41 | 12_345);
        let mut y = vec![0.0f64; x.len()];
        vmath::apply(f, &x, &mut y);
        let (worst, at) = x.iter().zip(&y).map(|(&x, &y)| (ulps64(y, reference(f, x)), x)).max_by_key(|p| p.0).unwrap();
        eprintln!("{f:?} f64 on {}: {worst} ulp at {at:e} ({} points)", vmath::path(), x.len());
        assert!(worst <= bound, "{f:?}({at:e}): {worst} ulp from libm, documented {bound}");
    }
}

/// The vector paths give the bits of the same kernel compiled without
/// vector instructions (fused multiply-adds in software), on every lane
/// position and the scalar tail; in place and out of place agree.
#[test]
fn the_vector_paths_give_the_portable_kernels_bits() {
    if vmath::path() == "scalar" {
        eprintln!("skipped: no AVX2 with FMA here, the scalar path is the standard library's");
        return;
    }
    let x32: Vec<f32> = (0..1003).map(|i| ((i * 7919 % 2000) as f32 - 1000.0) * 0.013).collect();
    let x64: Vec<f64> = x32.iter().map(|&v| f64::from(v) * 1.000_000_1).collect();
    for f in Function::ALL {
        let mut y = vec![0.0f32; x32.len()];
        vmath::apply(f, &x32, &mut y);
        let want = vmath::portable(f, &x32);
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&y), bits(&want), "{f:?} f32");
        let mut z = x32.clone();
        vmath::apply_in_place(f, &mut z);
        assert_eq!(bits(&z), bits(&y), "{f:?} f32 in place");
        if f != Function::Erf {
            let mut y = vec![0.0f64; x64.len()];
            vmath::apply(f, &x64, &mut y);
            let want = vmath::portable(f, &x64);
            assert_eq!(
                y.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                want.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                "{f:?} f64"
            );
        }
    }
}

/// NaN, the infinities, signed zeros and the ends of each range.
#[test]
fn special_values_follow_ieee() {
    fn check<T: gradus_tensor::Float + std::fmt::Debug>(f: Function, x: T, want: T) {
        let mut y = [T::zero()];
        vmath::apply(f, &[x], &mut y);
        let same =
            (y[0].is_nan() && want.is_nan()) || (y[0] == want && y[0].is_sign_negative() == want.is_sign_negative());
        assert!(same, "{f:?}({x:?}) = {:?}, want {want:?}", y[0]);
    }
    fn all<T: gradus_tensor::Float + std::fmt::Debug>() {
        let (inf, nan, z) = (T::infinity(), T::nan(), T::zero());
        use Function::*;
        for f in Function::ALL {
            check(f, nan, nan);
        }
        for (f, x, want) in [
            (Exp, -inf, z),
            (Exp, inf, inf),
            (Exp, z, T::one()),
            (Exp, T::of(-1e4), z),
            (Exp, T::of(1e4), inf),
            (Ln, z, -inf),
            (Ln, -z, -inf),
            (Ln, T::of(-1.0), nan),
            (Ln, -inf, nan),
            (Ln, inf, inf),
            (Ln, T::one(), z),
            (Log1p, T::of(-1.0), -inf),
            (Log1p, T::of(-2.0), nan),
            (Log1p, inf, inf),
            (Log1p, -z, -z),
            (Expm1, -inf, T::of(-1.0)),
            (Expm1, inf, inf),
            (Expm1, -z, -z),
            (Tanh, inf, T::one()),
            (Tanh, -inf, T::of(-1.0)),
            (Tanh, -z, -z),
            (Sigmoid, inf, T::one()),
            (Sigmoid, -inf, z),
            (Sigmoid, z, T::of(0.5)),
            (Erf, inf, T::one()),
            (Erf, -inf, T::of(-1.0)),
            (Erf, -z, -z),
            (Softplus, -inf, z),
            (Softplus, inf, inf),
            (Softplus, T::of(1e4), T::of(1e4)),
        ] {
            check(f, x, want);
        }
    }
    all::<f32>();
    all::<f64>();
}
