//! The accuracy of gradus-tensor's vector kernels (`gradus_tensor::vmath`),
//! in units in the last place against correctly rounded results.
//!
//! `ulps f32 [STRIDE [FUNCTION]]`: every STRIDE-th f32 (1, the default: every one) in
//! each function's range, against the f64 function rounded to f32 (the
//! correctly rounded value, except where the true value lies within 2⁻²⁹
//! ulp of a rounding boundary), on all threads. Prints the largest error
//! and where it occurs, and how many results are not correctly rounded.
//!
//! `ulps f64 DIR [N]`: N (default 100 000) f64 arguments per function,
//! spread over each range by bit pattern, and the kernel's results, written
//! to `DIR/<function>.bin` as little-endian (x, y) pairs for
//! `benches/peers/ulps_f64.py`, which compares them with mpmath at 40
//! digits.

use gradus_tensor::testing::{ulps_f32 as ulps32, vmath_reference as reference};
use gradus_tensor::vmath::{self, Function};
use rayon::prelude::*;
use std::io::Write as _;
use std::process::ExitCode;

/// Each function's range in f32 and in f64: past it the result is
/// constant or a special value, which tests/vmath.rs checks.
fn ranges(f: Function) -> ((f32, f32), (f64, f64)) {
    match f {
        Function::Exp => ((-104.0, 89.0), (-746.0, 710.0)),
        Function::Ln => ((0.0, f32::MAX), (0.0, f64::MAX)),
        Function::Log1p => ((-1.0, f32::MAX), (-1.0, f64::MAX)),
        Function::Expm1 => ((-20.0, 89.0), (-40.0, 710.0)),
        Function::Tanh => ((-10.0, 10.0), (-20.0, 20.0)),
        Function::Sigmoid => ((-104.0, 104.0), (-746.0, 746.0)),
        Function::Erf => ((-4.5, 4.5), (-6.0, 6.0)),
        Function::Softplus => ((-104.0, 104.0), (-746.0, 746.0)),
    }
}

/// The f32s of `[lo, hi]` in bit-pattern order, every `stride`-th.
fn f32s(lo: f32, hi: f32, stride: u32) -> Vec<u32> {
    let mut ranges = Vec::new();
    // Non-negative floats order as their bits, negative ones reversed.
    if hi >= 0.0 {
        ranges.push((lo.max(0.0).to_bits(), hi.to_bits()));
    }
    if lo < 0.0 {
        ranges.push(((-hi.min(-0.0)).to_bits() | 0x8000_0000, lo.to_bits()));
    }
    ranges.into_iter().flat_map(|(a, b)| (a..=b).step_by(stride as usize)).collect()
}

fn sweep_f32(stride: u32, only: Option<&str>) {
    println!("| function | f32 values | largest error (ulp) | at | not correctly rounded |");
    println!("|---|---|---|---|---|");
    for f in Function::ALL {
        if only.is_some_and(|o| !format!("{f:?}").eq_ignore_ascii_case(o)) {
            continue;
        }
        let ((lo, hi), _) = ranges(f);
        let bits = f32s(lo, hi, stride);
        let (worst, at, wrong) = bits
            .par_chunks(1 << 16)
            .map(|chunk| {
                let x: Vec<f32> = chunk.iter().map(|&b| f32::from_bits(b)).collect();
                let mut y = vec![0.0f32; x.len()];
                vmath::apply(f, &x, &mut y);
                let mut worst = (0u64, 0.0f32, 0usize);
                for (&x, &y) in x.iter().zip(&y) {
                    let d = ulps32(y, reference(f, f64::from(x)) as f32);
                    if d > 0 {
                        worst.2 += 1;
                    }
                    if d > worst.0 {
                        (worst.0, worst.1) = (d, x);
                    }
                }
                worst
            })
            .reduce(|| (0, 0.0, 0), |a, b| if a.0 >= b.0 { (a.0, a.1, a.2 + b.2) } else { (b.0, b.1, a.2 + b.2) });
        println!(
            "| {f:?} | {} in [{lo:e}, {hi:e}] | {worst} | {at:e} | {:.3}% |",
            bits.len(),
            100.0 * wrong as f64 / bits.len() as f64
        );
    }
}

fn dump_f64(dir: &std::path::Path, n: u64) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for f in Function::ALL {
        let (_, (lo, hi)) = ranges(f);
        // Spread by bit pattern over both signs' parts of the range.
        let key = |x: f64| {
            let i = x.to_bits() as i64;
            if i < 0 { i64::MIN.wrapping_sub(i) } else { i }
        };
        let (a, b) = (key(lo), key(hi));
        let step = ((b - a) as u64 / n).max(1);
        let x: Vec<f64> = (0..n)
            .map(|i| {
                let k = a + (i * step) as i64 + (i as i64 * 7919) % step as i64;
                f64::from_bits(if k < 0 { i64::MIN.wrapping_sub(k) } else { k } as u64)
            })
            .filter(|x| (lo..=hi).contains(x))
            .collect();
        let mut y = vec![0.0f64; x.len()];
        vmath::apply(f, &x, &mut y);
        let mut out = std::io::BufWriter::new(std::fs::File::create(dir.join(format!("{f:?}.bin").to_lowercase()))?);
        for (x, y) in x.iter().zip(&y) {
            out.write_all(&x.to_le_bytes())?;
            out.write_all(&y.to_le_bytes())?;
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    eprintln!("ulps: the {} path", vmath::path());
    match args.first().map(String::as_str) {
        Some("f32") => {
            let stride = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1);
            sweep_f32(stride, args.get(2).map(String::as_str));
            ExitCode::SUCCESS
        }
        Some("f64") if args.len() >= 2 => {
            let n = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(100_000);
            match dump_f64(std::path::Path::new(&args[1]), n) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("ulps: {}: {e}", args[1]);
                    ExitCode::FAILURE
                }
            }
        }
        _ => {
            eprintln!("usage: ulps f32 [STRIDE] | ulps f64 DIR [N]");
            ExitCode::from(2)
        }
    }
}
