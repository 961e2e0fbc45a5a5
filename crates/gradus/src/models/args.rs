//! Argument helpers shared by the items' parsers: sizes, pairs `(h, w)`,
//! probabilities, padding, the convolutions' common keys.

use gradus_autodiff::{PadMode, Padding};
use gradus_spec::{Args, Spec, SpecError, Value};

pub(super) fn err(spec: &Spec, message: impl Into<String>) -> SpecError {
    spec.error(message)
}

/// A number or a pair `(a, b)`, each a positive (or, with `zero_ok`,
/// non-negative) integer.
pub(super) fn pair(
    args: &Args,
    spec: &Spec,
    key: &str,
    default: [usize; 2],
    zero_ok: bool,
) -> Result<[usize; 2], SpecError> {
    let int = |v: &Value| match v {
        Value::Number(x) if x.fract() == 0.0 && *x >= if zero_ok { 0.0 } else { 1.0 } && *x < 1e9 => Some(*x as usize),
        _ => None,
    };
    let what = if zero_ok { "a non-negative integer below 10^9" } else { "a positive integer below 10^9" };
    match args.get(key) {
        None => Ok(default),
        Some(v @ Value::Number(_)) => {
            int(v).map(|n| [n, n]).ok_or_else(|| err(spec, format!("`{key}` must be {what} or a pair (h, w), got {v}")))
        }
        Some(Value::Tuple(items)) if items.len() == 2 => match (int(&items[0]), int(&items[1])) {
            (Some(a), Some(b)) => Ok([a, b]),
            _ => Err(err(spec, format!("`{key}` must be {what} or a pair (h, w) of them"))),
        },
        Some(other) => Err(err(spec, format!("`{key}` must be {what} or a pair (h, w), got `{other}`"))),
    }
}

/// One number (1-D), as [`pair`].
pub(super) fn one(args: &Args, spec: &Spec, key: &str, default: usize, zero_ok: bool) -> Result<usize, SpecError> {
    match args.get(key) {
        Some(Value::Tuple(_)) => Err(err(spec, format!("`{key}` takes one number in 1-D"))),
        _ => pair(args, spec, key, [default; 2], zero_ok).map(|p| p[0]),
    }
}

/// A required positive integer.
pub(super) fn positive(args: &mut Args, spec: &Spec, key: &str) -> Result<usize, SpecError> {
    let n = args.usize(key)?;
    if n == 0 {
        return Err(err(spec, format!("`{key}` must be positive")));
    }
    Ok(n)
}

/// A required key: an error naming it when absent.
pub(super) fn required(args: &Args, spec: &Spec, key: &str) -> Result<(), SpecError> {
    if args.get(key).is_none() {
        return Err(err(spec, format!("`{key}` is required")));
    }
    Ok(())
}

/// `p` in [0, 1), default 0.5.
pub(super) fn probability(args: &mut Args, spec: &Spec) -> Result<f64, SpecError> {
    let p = args.f64_or("p", 0.5)?;
    if !(0.0..1.0).contains(&p) {
        return Err(err(spec, format!("`p` must be in [0, 1), got {p}")));
    }
    Ok(p)
}

/// `eps` at least 0 (or, with `strict`, above 0), finite.
pub(super) fn eps(args: &mut Args, spec: &Spec, default: f64, strict: bool) -> Result<f64, SpecError> {
    let e = args.f64_or("eps", default)?;
    if !e.is_finite() || e < 0.0 || (strict && e == 0.0) {
        let what = if strict { "positive" } else { "non-negative" };
        return Err(err(spec, format!("`eps` must be a finite {what} number, got {e}")));
    }
    Ok(e)
}

/// A shape: a positive integer or a tuple of them (`normalized_shape`).
pub(super) fn shape(args: &Args, spec: &Spec, key: &str) -> Result<Vec<usize>, SpecError> {
    let int = |v: &Value| match v {
        Value::Number(x) if x.fract() == 0.0 && *x >= 1.0 && *x < 1e9 => Some(*x as usize),
        _ => None,
    };
    let bad =
        || err(spec, format!("`{key}` must be a positive integer below 10^9 or a tuple of them, such as (28, 28)"));
    match args.get(key) {
        None => Err(err(spec, format!("`{key}` is required"))),
        Some(v @ Value::Number(_)) => int(v).map(|n| vec![n]).ok_or_else(bad),
        Some(Value::Tuple(items) | Value::List(items)) if !items.is_empty() => {
            items.iter().map(int).collect::<Option<Vec<_>>>().ok_or_else(bad)
        }
        Some(_) => Err(bad()),
    }
}

pub(super) fn padding_mode(args: &mut Args) -> Result<PadMode, SpecError> {
    Ok(match args.word_or("padding_mode", &["zeros", "reflect", "replicate", "circular"], "zeros")? {
        "reflect" => PadMode::Reflect,
        "replicate" => PadMode::Replicate,
        "circular" => PadMode::Circular,
        _ => PadMode::Constant,
    })
}

pub(super) const CONV_KEYS: [&str; 9] =
    ["in", "out", "kernel", "stride", "padding", "dilation", "groups", "bias", "padding_mode"];

/// `conv1d`/`conv2d`'s shared arguments: (in, out, groups, bias, mode).
pub(super) fn conv_common(args: &mut Args, spec: &Spec) -> Result<(usize, usize, usize, bool, PadMode), SpecError> {
    let (inp, out) = (positive(args, spec, "in")?, positive(args, spec, "out")?);
    let groups =
        positive(args, spec, "groups").or_else(|e| if args.get("groups").is_none() { Ok(1) } else { Err(e) })?;
    if inp % groups != 0 || out % groups != 0 {
        return Err(err(spec, format!("groups={groups} must divide in ({inp}) and out ({out})")));
    }
    Ok((inp, out, groups, args.bool_or("bias", true)?, padding_mode(args)?))
}

pub(super) fn padding_word<const D: usize>(
    args: &Args,
    spec: &Spec,
    explicit: impl Fn() -> Result<[usize; D], SpecError>,
) -> Result<Padding<D>, SpecError> {
    match args.get("padding") {
        Some(Value::Word(w)) if w == "same" => Ok(Padding::Same),
        Some(Value::Word(w)) if w == "valid" => Ok(Padding::Valid),
        Some(Value::Word(w)) => Err(err(spec, format!("`padding` must be a number, a pair, same or valid, got `{w}`"))),
        _ => explicit().map(Padding::Explicit),
    }
}
