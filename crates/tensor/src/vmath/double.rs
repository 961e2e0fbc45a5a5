//! The f64 kernels: f64.rs's algorithms with f64's constants and longer
//! Taylor series. erf has no f64 kernel here (musl's, scalar).

/// 1.5·2⁵²: adding it rounds a float of magnitude below 2⁵¹ to an integer,
/// which then sits in the low bits of the sum.
const MAGIC: f64 = 6_755_399_441_055_744.0;
const LOG2E: f64 = std::f64::consts::LOG2_E;
/// ln 2 in two parts: the first has 32 trailing zero bits, so n·LN2_HI is
/// exact for every |n| < 2¹¹ the reduction meets (Cody and Waite).
const LN2_HI: f64 = 6.931_471_803_691_238e-1;
const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;

#[inline(always)]
fn select(c: bool, a: f64, b: f64) -> f64 {
    if c { a } else { b }
}

/// x = n·ln 2 + r with |r| ≤ ln 2 / 2 (slightly more at the rounding
/// boundary); n rounded to nearest.
#[inline(always)]
fn reduce(x: f64) -> (f64, i64) {
    let t = x.mul_add(LOG2E, MAGIC);
    let n = t - MAGIC;
    let r = n.mul_add(-LN2_HI, x);
    let r = n.mul_add(-LN2_LO, r);
    (r, (t.to_bits() as i64).wrapping_sub(MAGIC.to_bits() as i64))
}

/// 2ⁿ for n in the normal range (−1022 ≤ n ≤ 1023).
#[inline(always)]
fn pow2(n: i64) -> f64 {
    f64::from_bits((n.wrapping_add(1023) as u64) << 52)
}

/// p·2ⁿ for −2044 ≤ n ≤ 2046, in two steps so that neither factor
/// overflows or goes subnormal; the result rounds once.
#[inline(always)]
fn scale(p: f64, n: i64) -> f64 {
    let half = n >> 1;
    p * pow2(half) * pow2(n.wrapping_sub(half))
}

/// (eʳ − 1 − r)/r² on |r| ≤ 0.35: the Taylor series to r¹¹ (r¹³ in eʳ),
/// whose remainder is below 10⁻¹⁷ of eʳ.
#[inline(always)]
fn exp_tail(r: f64) -> f64 {
    // 1/k! for k = 13 down to 2.
    const C: [f64; 12] = [
        1.0 / 6_227_020_800.0,
        1.0 / 479_001_600.0,
        1.0 / 39_916_800.0,
        1.0 / 3_628_800.0,
        1.0 / 362_880.0,
        1.0 / 40_320.0,
        1.0 / 5040.0,
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
    ];
    horner(&C, r)
}

/// c₀xⁿ⁻¹ + c₁xⁿ⁻² + … + cₙ₋₁ (highest power first), by Horner's rule.
#[inline(always)]
fn horner<const N: usize>(c: &[f64; N], x: f64) -> f64 {
    let mut p = c[0];
    for &k in &c[1..] {
        p = p.mul_add(x, k);
    }
    p
}

/// eʳ − 1 on |r| ≤ 0.35, with no cancellation.
#[inline(always)]
fn expm1_reduced(r: f64) -> f64 {
    (r * r).mul_add(exp_tail(r), r)
}

/// eˣ.
#[inline(always)]
pub(super) fn exp(x: f64) -> f64 {
    // Past 710 the result is +∞ and below −746 it is 0: clamping keeps n in
    // the range `scale` handles, and NaN fails both tests and stays NaN.
    let x = select(x > 710.0, 710.0, x);
    let x = select(x < -746.0, -746.0, x);
    let (r, n) = reduce(x);
    scale(expm1_reduced(r) + 1.0, n)
}

/// eˣ − 1.
#[inline(always)]
pub(super) fn expm1(x: f64) -> f64 {
    // Below −40, eˣ < 2⁻⁵⁴ and the result is −1.
    let x0 = x;
    let x = select(x > 710.0, 710.0, x);
    let x = select(x < -40.0, -40.0, x);
    let (r, n) = reduce(x);
    let m = expm1_reduced(r);
    // 2ⁿ(1 + m) − 1: with 2ⁿ − 1 exact (n ≤ 53), one fused rounding;
    // beyond, the −1 is below the result's last bit and 2ⁿ may overflow.
    let small = pow2(n.min(53));
    let near = m.mul_add(small, small - 1.0);
    let far = scale(m + 1.0, n) - 1.0;
    // ±0 keeps its sign (the reduction turns −0 into +0).
    select(x0 == 0.0, x0, select(n <= 53, near, far))
}

/// ln x.
#[inline(always)]
pub(super) fn ln(x: f64) -> f64 {
    // Subnormals are scaled into the normal range first.
    let tiny = x < f64::MIN_POSITIVE;
    let xs = select(tiny, x * 18_014_398_509_481_984.0, x);
    let bits = xs.to_bits() as i64;
    // x = 2ᵏ·m with m in [√½, √2): offset the bits by those of √½.
    let shifted = bits.wrapping_sub(0x3fe6_a09e_667f_3bcd);
    let k = (shifted >> 52).wrapping_sub(if tiny { 54 } else { 0 });
    let m = f64::from_bits(((shifted & 0x000f_ffff_ffff_ffff).wrapping_add(0x3fe6_a09e_667f_3bcd)) as u64);
    // ln m = 2·atanh(s) with s = f/(2 + f), f = m − 1 exact, |s| < 0.172:
    // 2s + s·R(s²), written f + s·(R − f) since 2s = f − s·f.
    let f = m - 1.0;
    let s = f / (2.0 + f);
    let z = s * s;
    // 2/(2j + 1) for j = 10 down to 1.
    const R: [f64; 10] = [
        2.0 / 21.0,
        2.0 / 19.0,
        2.0 / 17.0,
        2.0 / 15.0,
        2.0 / 13.0,
        2.0 / 11.0,
        2.0 / 9.0,
        2.0 / 7.0,
        2.0 / 5.0,
        2.0 / 3.0,
    ];
    let r = horner(&R, z) * z;
    let ln_m = s.mul_add(r - f, f);
    let k = k as f64;
    let y = k.mul_add(LN2_HI, k.mul_add(LN2_LO, ln_m));
    let y = select(x == f64::INFINITY, x, y);
    let y = select(x == 0.0, f64::NEG_INFINITY, y);
    select(x < 0.0 || x.is_nan(), f64::NAN, y)
}

/// ln(1 + x).
#[inline(always)]
pub(super) fn log1p(x: f64) -> f64 {
    // ln(u)·x/(u − 1) with u = 1 + x rounded: the quotient corrects u's
    // rounding error to first order (Goldberg 1991, theorem 4).
    let u = 1.0 + x;
    let d = u - 1.0;
    let y = ln(u) * (x / d);
    let y = select(d == 0.0, x, y);
    select(x == f64::INFINITY, x, y)
}

/// tanh x = (e²ˣ − 1)/(e²ˣ + 1), through expm1 so that small x keeps its
/// digits; |x| > 19.5 gives ±1.
#[inline(always)]
pub(super) fn tanh(x: f64) -> f64 {
    let a = x.abs();
    let a = select(a > 19.5, 19.5, a);
    let m = expm1(2.0 * a);
    (m / (m + 2.0)).copysign(x)
}

/// σ(x) = 1/(1 + e⁻ˣ), from e^−|x| so that nothing overflows.
#[inline(always)]
pub(super) fn sigmoid(x: f64) -> f64 {
    let e = exp(-x.abs());
    select(x >= 0.0, 1.0, e) / (1.0 + e)
}

/// ln(1 + eˣ) = max(x, 0) + ln(1 + e^−|x|), finite for every finite x.
#[inline(always)]
pub(super) fn softplus(x: f64) -> f64 {
    let y = select(x > 0.0, x, 0.0) + log1p(exp(-x.abs()));
    select(x.is_nan(), x, y)
}
