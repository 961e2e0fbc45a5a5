//! The f32 kernels: one element at a time, without branches (every
//! condition is a select), so that a loop over a slice compiles to vector
//! code. Each is built from the exponential and logarithm below; the
//! polynomials are Taylor series where they converge fast enough and
//! least-squares fits on Chebyshev nodes (scripts/fit_erf.py) for erf.

/// 1.5·2²³: adding it rounds a float of magnitude below 2²² to an integer,
/// which then sits in the low bits of the sum.
const MAGIC: f32 = 12_582_912.0;
const LOG2E: f32 = std::f32::consts::LOG2_E;
/// ln 2 in two parts: the first has 9 significant bits, so n·LN2_HI is
/// exact for every |n| < 2⁸ the reduction meets (Cody and Waite).
#[allow(clippy::excessive_precision)] // written out exactly: 355/512
const LN2_HI: f32 = 0.693_359_375;
const LN2_LO: f32 = -2.121_944_4e-4;

#[inline(always)]
fn select(c: bool, a: f32, b: f32) -> f32 {
    if c { a } else { b }
}

/// x = n·ln 2 + r with |r| ≤ ln 2 / 2 (slightly more at the rounding
/// boundary); n rounded to nearest.
#[inline(always)]
fn reduce(x: f32) -> (f32, i32) {
    let t = x.mul_add(LOG2E, MAGIC);
    let n = t - MAGIC;
    let r = n.mul_add(-LN2_HI, x);
    let r = n.mul_add(-LN2_LO, r);
    (r, (t.to_bits() as i32).wrapping_sub(MAGIC.to_bits() as i32))
}

/// 2ⁿ for n in the normal range (−126 ≤ n ≤ 127).
#[inline(always)]
fn pow2(n: i32) -> f32 {
    f32::from_bits((n.wrapping_add(127) as u32) << 23)
}

/// p·2ⁿ for −252 ≤ n ≤ 254, in two steps so that neither factor
/// overflows or goes subnormal; the result rounds once.
#[inline(always)]
fn scale(p: f32, n: i32) -> f32 {
    let half = n >> 1;
    p * pow2(half) * pow2(n.wrapping_sub(half))
}

/// (eʳ − 1 − r)/r² on |r| ≤ 0.35: the Taylor series to r⁵ (r⁷ in eʳ),
/// whose remainder is below 10⁻⁸ of eʳ.
#[inline(always)]
fn exp_tail(r: f32) -> f32 {
    let p = r.mul_add(1.0 / 5040.0, 1.0 / 720.0);
    let p = p.mul_add(r, 1.0 / 120.0);
    let p = p.mul_add(r, 1.0 / 24.0);
    let p = p.mul_add(r, 1.0 / 6.0);
    p.mul_add(r, 0.5)
}

/// eʳ − 1 on |r| ≤ 0.35, with no cancellation.
#[inline(always)]
fn expm1_reduced(r: f32) -> f32 {
    (r * r).mul_add(exp_tail(r), r)
}

/// eˣ.
#[inline(always)]
pub(super) fn exp(x: f32) -> f32 {
    // Past 89 the result is +∞ and below −104 it is 0: clamping keeps n in
    // the range `scale` handles, and NaN fails both tests and stays NaN.
    let x = select(x > 89.0, 89.0, x);
    let x = select(x < -104.0, -104.0, x);
    let (r, n) = reduce(x);
    scale(expm1_reduced(r) + 1.0, n)
}

/// eˣ − 1.
#[inline(always)]
pub(super) fn expm1(x: f32) -> f32 {
    // Below −18, eˣ < 2⁻²⁵ and the result is −1.
    let x0 = x;
    let x = select(x > 89.0, 89.0, x);
    let x = select(x < -18.0, -18.0, x);
    let (r, n) = reduce(x);
    let m = expm1_reduced(r);
    // 2ⁿ(1 + m) − 1: with 2ⁿ − 1 exact (n ≤ 24), one fused rounding;
    // beyond, the −1 is below the result's last bit and 2ⁿ may overflow.
    let small = pow2(n.min(24));
    let near = m.mul_add(small, small - 1.0);
    let far = scale(m + 1.0, n) - 1.0;
    // ±0 keeps its sign (the reduction turns −0 into +0).
    select(x0 == 0.0, x0, select(n <= 24, near, far))
}

/// ln x.
#[inline(always)]
pub(super) fn ln(x: f32) -> f32 {
    // Subnormals are scaled into the normal range first.
    let tiny = x < f32::MIN_POSITIVE;
    let xs = select(tiny, x * 8_388_608.0, x);
    let bits = xs.to_bits() as i32;
    // x = 2ᵏ·m with m in [√½, √2): offset the bits by those of √½.
    let shifted = bits.wrapping_sub(0x3f35_04f3);
    let k = (shifted >> 23).wrapping_sub(if tiny { 23 } else { 0 });
    let m = f32::from_bits(((shifted & 0x007f_ffff).wrapping_add(0x3f35_04f3)) as u32);
    // ln m = 2·atanh(s) with s = f/(2 + f), f = m − 1 exact, |s| < 0.172:
    // 2s + s·R(s²), written f + s·(R − f) since 2s = f − s·f.
    let f = m - 1.0;
    let s = f / (2.0 + f);
    let z = s * s;
    let r = z.mul_add(2.0 / 9.0, 2.0 / 7.0);
    let r = r.mul_add(z, 2.0 / 5.0);
    let r = r.mul_add(z, 2.0 / 3.0);
    let r = r * z;
    let ln_m = s.mul_add(r - f, f);
    let k = k as f32;
    let y = k.mul_add(LN2_HI, k.mul_add(LN2_LO, ln_m));
    let y = select(x == f32::INFINITY, x, y);
    let y = select(x == 0.0, f32::NEG_INFINITY, y);
    select(x < 0.0 || x.is_nan(), f32::NAN, y)
}

/// ln(1 + x).
#[inline(always)]
pub(super) fn log1p(x: f32) -> f32 {
    // ln(u)·x/(u − 1) with u = 1 + x rounded: the quotient corrects u's
    // rounding error to first order (Goldberg 1991, theorem 4).
    let u = 1.0 + x;
    let d = u - 1.0;
    let y = ln(u) * (x / d);
    let y = select(d == 0.0, x, y);
    select(x == f32::INFINITY, x, y)
}

/// tanh x = (e²ˣ − 1)/(e²ˣ + 1), through expm1 so that small x keeps its
/// digits; |x| > 9.1 gives ±1.
#[inline(always)]
pub(super) fn tanh(x: f32) -> f32 {
    let a = x.abs();
    let a = select(a > 9.1, 9.1, a);
    let m = expm1(2.0 * a);
    (m / (m + 2.0)).copysign(x)
}

/// σ(x) = 1/(1 + e⁻ˣ), from e^−|x| so that nothing overflows.
#[inline(always)]
pub(super) fn sigmoid(x: f32) -> f32 {
    let e = exp(-x.abs());
    select(x >= 0.0, 1.0, e) / (1.0 + e)
}

/// ln(1 + eˣ) = max(x, 0) + ln(1 + e^−|x|), finite for every finite x.
#[inline(always)]
pub(super) fn softplus(x: f32) -> f32 {
    let y = select(x > 0.0, x, 0.0) + log1p(exp(-x.abs()));
    select(x.is_nan(), x, y)
}

/// erf(x)/x on x² ∈ [0, 1], a degree-6 polynomial in x²: fitted, with
/// the constant term then set to 2/√π (rounded here, its remainder in
/// [`ERF_C0_LO`]), which tiny x (most f32 values) see alone.
const ERF_SMALL: [f32; 7] = [
    std::f32::consts::FRAC_2_SQRT_PI,
    -0.376_126_26,
    0.112_835_824,
    -0.026_853_692,
    0.005_188_099,
    -0.000_800_818_96,
    7.847_259e-5,
];

/// erfc(x)·e^{x²} on t = 1/x ∈ [¼, 1], a degree-8 polynomial in t.
const ERFC_LARGE: [f32; 9] = [
    0.000_263_527_1,
    0.559_143_9,
    0.041_355_11,
    -0.469_251_36,
    0.491_550_48,
    -0.234_270_69,
    0.017_212_812,
    0.031_655_543,
    -0.010_075_77,
];

/// 2/√π − `FRAC_2_SQRT_PI` (the f32 rounding).
const ERF_C0_LO: f32 = -5.863_538_4e-8;

/// c₁ + c₂x + … + cₙ₋₁xⁿ⁻² (the polynomial without its constant term,
/// divided by x).
#[inline(always)]
fn horner_tail<const N: usize>(c: &[f32; N], x: f32) -> f32 {
    let mut p = c[N - 1];
    for &k in c[1..N - 1].iter().rev() {
        p = p.mul_add(x, k);
    }
    p
}

#[inline(always)]
fn horner<const N: usize>(c: &[f32; N], x: f32) -> f32 {
    let mut p = c[N - 1];
    for &k in c[..N - 1].iter().rev() {
        p = p.mul_add(x, k);
    }
    p
}

/// The error function: x·P(x²) below 1, 1 − e^{−x²}·R(1/x) from 1 to 4,
/// 1 beyond (erf 4 rounds to 1).
#[inline(always)]
pub(super) fn erf(x: f32) -> f32 {
    let a = x.abs();
    // a·(2/√π) + a·(C0_LO + a²·Q(a²)): the leading term with 2/√π in two
    // parts, so that tiny x round as the true erf does.
    let z = a * a;
    let small = a.mul_add(ERF_SMALL[0], a * z.mul_add(horner_tail(&ERF_SMALL, z), ERF_C0_LO));
    let b = select(a > 4.0, 4.0, a);
    // e^{−b²} with b² split into its rounded value and the rounding error.
    let hi = b * b;
    let lo = b.mul_add(b, -hi);
    let e = exp(-hi) * (1.0 - lo);
    let large = e.mul_add(-horner(&ERFC_LARGE, 1.0 / b), 1.0);
    select(a < 1.0, small, large).copysign(x)
}
