//! Optimisers from spec strings (docs/cli.md): `adam(lr=1e-3, betas=(0.9,0.999))`.

use crate::error::Result;
use crate::platform::Float;
use crate::*;
use gradus_spec::{Args, Spec, SpecError, Value};

/// The optimiser names [`parse_method`] accepts ([`parse`]: all but the
/// closure methods `newton` and `lbfgs`).
pub const NAMES: [&str; 35] = [
    "sgd",
    "momentum",
    "adagrad",
    "rmsprop",
    "textbook_rmsprop",
    "adadelta",
    "adam",
    "adamw",
    "nadam",
    "adamax",
    "radam",
    "rprop",
    "asgd",
    "lion",
    "signum",
    "yogi",
    "adabelief",
    "lamb",
    "lars",
    "adan",
    "novograd",
    "adopt",
    "ademamix",
    "schedule_free_sgd",
    "schedule_free_adamw",
    "prodigy",
    "adafactor",
    "muon",
    "lookahead",
    "sam",
    "sophia",
    "kfac",
    "hessian_free",
    "newton",
    "lbfgs",
];

/// Any optimiser a spec names: a per-parameter method for [`Optimizer`], or
/// one of the closure methods that re-evaluate the loss.
#[derive(Debug)]
pub enum Method<T: Float> {
    /// SGD … ASGD, and the methods from Optax.
    FirstOrder(Box<dyn UpdateRule<T>>),
    /// `newton(lr, damping, cg_max_iter, cg_tol)` (with the `tensor`
    /// feature: it solves with dense matrices).
    #[cfg(feature = "tensor")]
    Newton(Newton),
    /// `lbfgs(lr, max_iter, max_eval, tolerance_grad, tolerance_change, history_size, line_search_fn=strong_wolfe)`.
    Lbfgs(Lbfgs<T>),
}

/// Parses any optimiser spec, closure methods included.
///
/// ```
/// use gradus_optim::{Method, parse_method};
/// assert!(matches!(parse_method::<f64>("lbfgs(line_search_fn=strong_wolfe, history_size=10)").unwrap(), Method::Lbfgs(_)));
/// # #[cfg(feature = "tensor")]
/// assert!(matches!(parse_method::<f64>("newton(damping=0.1)").unwrap(), Method::Newton(_)));
/// assert!(matches!(parse_method::<f64>("adam").unwrap(), Method::FirstOrder(_)));
/// ```
///
/// # Errors
/// As [`parse`].
pub fn parse_method<T: Float>(text: &str) -> Result<Method<T>> {
    let spec = text.parse::<Spec>()?;
    match spec.name.as_str() {
        #[cfg(not(feature = "tensor"))]
        "newton" => Err(spec
            .error("newton solves with dense matrices: build gradus-optim with its `tensor` feature (on by default)")
            .into()),
        #[cfg(feature = "tensor")]
        "newton" => {
            let mut a = spec.args(&["lr", "damping", "cg_max_iter", "cg_tol"])?;
            let d = NewtonConfig::default();
            Ok(Method::Newton(Newton::new(NewtonConfig {
                lr: a.f64_or("lr", d.lr)?,
                damping: a.f64_or("damping", d.damping)?,
                cg_max_iter: a.usize_or("cg_max_iter", d.cg_max_iter)?,
                cg_tol: a.f64_or("cg_tol", d.cg_tol)?,
            })?))
        }
        "lbfgs" => {
            let keys =
                ["lr", "max_iter", "max_eval", "tolerance_grad", "tolerance_change", "history_size", "line_search_fn"];
            let mut a = spec.args(&keys)?;
            let d = LbfgsConfig::default();
            let max_eval = a.get("max_eval").is_some().then(|| a.usize("max_eval")).transpose()?;
            Ok(Method::Lbfgs(Lbfgs::new(LbfgsConfig {
                lr: a.f64_or("lr", d.lr)?,
                max_iter: a.usize_or("max_iter", d.max_iter)?,
                max_eval,
                tolerance_grad: a.f64_or("tolerance_grad", d.tolerance_grad)?,
                tolerance_change: a.f64_or("tolerance_change", d.tolerance_change)?,
                history_size: a.usize_or("history_size", d.history_size)?,
                strong_wolfe: a.word_or("line_search_fn", &["none", "strong_wolfe"], "none")? == "strong_wolfe",
            })?))
        }
        _ => Ok(Method::FirstOrder(from_spec(&spec)?)),
    }
}

fn triple(a: &mut Args, key: &str, default: (f64, f64, f64)) -> std::result::Result<(f64, f64, f64), SpecError> {
    if a.get(key).is_none() {
        return Ok(default);
    }
    match a.numbers(key)?[..] {
        [x, y, z] => Ok((x, y, z)),
        ref other => Err(a.invalid(key, format!("must be a triple (a,b,c), got {} numbers", other.len()))),
    }
}

fn pair(a: &mut Args, key: &str, default: (f64, f64)) -> std::result::Result<(f64, f64), SpecError> {
    if a.get(key).is_none() {
        return Ok(default);
    }
    match a.numbers(key)?[..] {
        [x, y] => Ok((x, y)),
        ref other => Err(a.invalid(key, format!("must be a pair (a,b), got {} numbers", other.len()))),
    }
}

/// The optimiser a spec hands the tensors its own method does not take,
/// if it has one: Muon's `fallback` (which a trainer also gives a
/// network's first and last layers, as the Muon authors advise).
///
/// ```
/// use gradus_optim::fallback_of;
/// let fallback = fallback_of::<f32>("muon(lr=0.02, fallback=adamw(lr=3e-4))").unwrap().unwrap();
/// assert_eq!((fallback.name(), fallback.default_lr()), ("adamw", 3e-4));
/// assert!(fallback_of::<f32>("adam").unwrap().is_none());
/// // A wrapper around Muon wraps its fallback the same way.
/// let wrapped = fallback_of::<f32>("lookahead(muon(lr=0.02), k=3)").unwrap().unwrap();
/// assert_eq!((wrapped.name(), wrapped.default_lr()), ("lookahead", 1e-3));
/// ```
///
/// # Errors
/// As [`parse`].
pub fn fallback_of<T: Float>(text: &str) -> Result<Option<Box<dyn UpdateRule<T>>>> {
    let spec = text.parse::<Spec>()?;
    // The whole spec is checked first, so an error names what it would.
    from_spec::<T>(&spec)?;
    fallback_spec(&spec)?.map(|s| from_spec(&s)).transpose()
}

/// The spec of what takes a Muon spec's other tensors: its `fallback`;
/// for a wrapper (`lookahead`, `sam`) around one, the same wrapper around
/// that fallback; `None` for anything else.
fn fallback_spec(spec: &Spec) -> Result<Option<Spec>> {
    if spec.name == "muon" {
        return Ok(Some(spec.args(&MUON_KEYS)?.spec_or("fallback", MUON_FALLBACK)?));
    }
    if !["lookahead", "sam"].contains(&spec.name.as_str()) {
        return Ok(None);
    }
    let mut out = spec.clone();
    let Some((_, inner)) = out.args.iter_mut().find(|(k, _)| k.is_none() || k.as_deref() == Some("optimizer")) else {
        return Ok(None);
    };
    let inner_spec = match inner {
        Value::Spec(s) => s.clone(),
        Value::Word(w) => Spec { name: w.clone(), args: Vec::new() },
        _ => return Ok(None),
    };
    match fallback_spec(&inner_spec)? {
        Some(fallback) => {
            *inner = Value::Spec(fallback);
            Ok(Some(out))
        }
        None => Ok(None),
    }
}

/// The spec with its weight decay 0 — the optimiser of a parameter group
/// that is not decayed (`gradus train --no-decay`) — and, for Muon, its
/// fallback's too.
///
/// ```
/// use gradus_optim::without_weight_decay;
/// assert_eq!(without_weight_decay("adamw(lr=1e-3, weight_decay=0.1)").unwrap(), "adamw(lr=0.001, weight_decay=0)");
/// assert_eq!(
///     without_weight_decay("muon(lr=0.02)").unwrap(),
///     "muon(lr=0.02, weight_decay=0, fallback=adamw(lr=0.001, weight_decay=0))"
/// );
/// assert!(without_weight_decay("signum(lr=0.1)").unwrap_err().to_string().contains("has no weight decay"));
/// assert_eq!(
///     without_weight_decay("lookahead(adamw(weight_decay=0.1), k=3)").unwrap(),
///     "lookahead(adamw(weight_decay=0), k=3)"
/// );
/// ```
///
/// # Errors
/// A spec that does not parse, an optimiser without weight decay, or
/// arguments after the rate given by position (which of them is the
/// decay is then the optimiser's business: write `weight_decay=…`).
pub fn without_weight_decay(text: &str) -> Result<String> {
    fn zeroed(spec: &Spec) -> Result<Spec> {
        if spec.name == "lookahead" || spec.name == "sam" {
            // The wrapped optimiser's decay (its first argument).
            let mut out = spec.clone();
            if let Some((_, Value::Spec(inner))) =
                out.args.iter_mut().find(|(k, _)| k.is_none() || k.as_deref() == Some("optimizer"))
            {
                *inner = zeroed(inner)?;
            }
            return Ok(out);
        }
        if spec.args.iter().skip(1).any(|(k, _)| k.is_none()) {
            return Err(spec
                .error(
                    "a group without weight decay needs the optimiser's arguments after `lr` by name (weight_decay=…)",
                )
                .into());
        }
        let mut out = Spec { name: spec.name.clone(), args: Vec::new() };
        let mut fallback = None;
        for (k, v) in &spec.args {
            match (k.as_deref(), v) {
                (Some("weight_decay"), _) => {}
                (Some("fallback"), Value::Spec(s)) => fallback = Some(zeroed(s)?),
                (Some("fallback"), Value::Word(w)) => fallback = Some(zeroed(&Spec { name: w.clone(), args: vec![] })?),
                _ => out.args.push((k.clone(), v.clone())),
            }
        }
        out.args.push((Some("weight_decay".into()), Value::Number(0.0)));
        if spec.name == "muon" {
            let fallback = match fallback {
                Some(f) => f,
                None => zeroed(&MUON_FALLBACK.parse::<Spec>()?)?,
            };
            out.args.push((Some("fallback".into()), Value::Spec(fallback)));
        }
        Ok(out)
    }
    let spec = text.parse::<Spec>()?;
    let out = zeroed(&spec)?;
    if let Err(e) = parse_method::<f64>(&out.to_string()) {
        if e.to_string().contains("unknown key `weight_decay`") {
            return Err(spec.error(format!("{} has no weight decay to turn off", spec.name)).into());
        }
        return Err(e);
    }
    Ok(out.to_string())
}

/// Muon's keys, PyTorch's and `fallback`.
const MUON_KEYS: [&str; 9] =
    ["lr", "weight_decay", "momentum", "nesterov", "ns_coefficients", "eps", "ns_steps", "adjust_lr_fn", "fallback"];
/// Muon's fallback when its spec names none.
const MUON_FALLBACK: &str = "adamw(lr=1e-3)";

/// Parses an optimiser spec; keys are PyTorch's names with its defaults
/// (`textbook_rmsprop` is RMSProp with δ inside the root, `momentum` the
/// textbook momentum method with `lr` and `alpha`).
///
/// ```
/// use gradus_optim::parse;
/// let adam = parse::<f32>("adam(lr=3e-4, betas=(0.8,0.99), amsgrad=true)").unwrap();
/// assert_eq!((adam.name(), adam.default_lr(), adam.momentum()), ("adam", 3e-4, Some(0.8)));
/// let err = parse::<f32>("sgd(lr=0.1, nesterov=true)").unwrap_err().to_string();
/// assert_eq!(err, "sgd: `nesterov` requires momentum > 0 and dampening = 0");
/// let err = parse::<f32>("adam(learning_rate=0.1)").unwrap_err().to_string();
/// assert!(err.ends_with("unknown key `learning_rate`; accepted: lr, betas, eps, weight_decay, amsgrad, maximize, decoupled_weight_decay"));
/// ```
///
/// # Errors
/// An unknown name or key, a value of the wrong kind, or one out of range.
pub fn parse<T: Float>(text: &str) -> Result<Box<dyn UpdateRule<T>>> {
    from_spec(&text.parse::<Spec>()?)
}

/// Builds an optimiser from a parsed spec (see [`parse`]).
///
/// # Errors
/// As [`parse`].
pub fn from_spec<T: Float>(spec: &Spec) -> Result<Box<dyn UpdateRule<T>>> {
    Ok(match spec.name.as_str() {
        "sgd" => {
            let mut a = spec.args(&["lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize"])?;
            let d = SgdConfig::default();
            Box::new(Sgd::new(SgdConfig {
                lr: a.f64_or("lr", d.lr)?,
                momentum: a.f64_or("momentum", d.momentum)?,
                dampening: a.f64_or("dampening", d.dampening)?,
                weight_decay: a.f64_or("weight_decay", d.weight_decay)?,
                nesterov: a.bool_or("nesterov", d.nesterov)?,
                maximize: a.bool_or("maximize", d.maximize)?,
            })?)
        }
        "momentum" => {
            let mut a = spec.args(&["lr", "alpha"])?;
            Box::new(Momentum::new(a.f64("lr")?, a.f64_or("alpha", 0.9)?)?)
        }
        "adagrad" => {
            let mut a =
                spec.args(&["lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps", "maximize"])?;
            let d = AdagradConfig::default();
            Box::new(Adagrad::new(AdagradConfig {
                lr: a.f64_or("lr", d.lr)?,
                lr_decay: a.f64_or("lr_decay", d.lr_decay)?,
                weight_decay: a.f64_or("weight_decay", d.weight_decay)?,
                initial_accumulator_value: a.f64_or("initial_accumulator_value", d.initial_accumulator_value)?,
                eps: a.f64_or("eps", d.eps)?,
                maximize: a.bool_or("maximize", d.maximize)?,
            })?)
        }
        name @ ("rmsprop" | "textbook_rmsprop") => {
            let mut a = spec.args(&["lr", "alpha", "eps", "weight_decay", "momentum", "centered", "maximize"])?;
            let textbook = name == "textbook_rmsprop";
            let d = RmspropConfig::default();
            Box::new(Rmsprop::new(RmspropConfig {
                lr: a.f64_or("lr", d.lr)?,
                alpha: a.f64_or("alpha", d.alpha)?,
                eps: a.f64_or("eps", if textbook { 1e-6 } else { d.eps })?,
                weight_decay: a.f64_or("weight_decay", d.weight_decay)?,
                momentum: a.f64_or("momentum", d.momentum)?,
                centered: a.bool_or("centered", d.centered)?,
                maximize: a.bool_or("maximize", d.maximize)?,
                textbook,
            })?)
        }
        "adadelta" => {
            let mut a = spec.args(&["lr", "rho", "eps", "weight_decay", "maximize"])?;
            let d = AdadeltaConfig::default();
            Box::new(Adadelta::new(AdadeltaConfig {
                lr: a.f64_or("lr", d.lr)?,
                rho: a.f64_or("rho", d.rho)?,
                eps: a.f64_or("eps", d.eps)?,
                weight_decay: a.f64_or("weight_decay", d.weight_decay)?,
                maximize: a.bool_or("maximize", d.maximize)?,
            })?)
        }
        name @ ("adam" | "adamw") => {
            let mut keys = vec!["lr", "betas", "eps", "weight_decay", "amsgrad", "maximize"];
            if name == "adam" {
                keys.push("decoupled_weight_decay");
            }
            let mut a = spec.args(&keys)?;
            let d = if name == "adamw" { AdamConfig::adamw() } else { AdamConfig::default() };
            let c = AdamConfig {
                lr: a.f64_or("lr", d.lr)?,
                betas: pair(&mut a, "betas", d.betas)?,
                eps: a.f64_or("eps", d.eps)?,
                weight_decay: WeightDecay::from_keys(
                    a.f64_or("weight_decay", d.weight_decay.rate())?,
                    a.bool_or("decoupled_weight_decay", d.weight_decay.is_decoupled())?,
                ),
                amsgrad: a.bool_or("amsgrad", d.amsgrad)?,
                maximize: a.bool_or("maximize", d.maximize)?,
            };
            Box::new(if name == "adamw" { Adam::adamw(c)? } else { Adam::new(c)? })
        }
        "nadam" => {
            let keys = ["lr", "betas", "eps", "weight_decay", "momentum_decay", "decoupled_weight_decay", "maximize"];
            let mut a = spec.args(&keys)?;
            let d = NadamConfig::default();
            Box::new(Nadam::new(NadamConfig {
                lr: a.f64_or("lr", d.lr)?,
                betas: pair(&mut a, "betas", d.betas)?,
                eps: a.f64_or("eps", d.eps)?,
                weight_decay: WeightDecay::from_keys(
                    a.f64_or("weight_decay", d.weight_decay.rate())?,
                    a.bool_or("decoupled_weight_decay", d.weight_decay.is_decoupled())?,
                ),
                momentum_decay: a.f64_or("momentum_decay", d.momentum_decay)?,
                maximize: a.bool_or("maximize", d.maximize)?,
            })?)
        }
        "adan" => {
            let mut a = spec.args(&["lr", "betas", "eps", "eps_root", "weight_decay"])?;
            let d = AdanConfig::with_lr(a.f64("lr")?);
            Box::new(Adan::new(AdanConfig {
                betas: triple(&mut a, "betas", d.betas)?,
                eps: a.f64_or("eps", d.eps)?,
                eps_root: a.f64_or("eps_root", d.eps_root)?,
                weight_decay: a.f64_or("weight_decay", d.weight_decay)?,
                ..d
            })?)
        }
        "schedule_free_sgd" => {
            let mut a = spec.args(&["lr", "momentum", "warmup_steps", "weight_decay"])?;
            let d = ScheduleFreeConfig::sgd();
            Box::new(ScheduleFree::new(ScheduleFreeConfig {
                lr: a.f64_or("lr", d.lr)?,
                b1: a.f64_or("momentum", d.b1)?,
                warmup_steps: a.usize_or("warmup_steps", 0)? as u64,
                weight_decay: a.f64_or("weight_decay", d.weight_decay)?,
                ..d
            })?)
        }
        "schedule_free_adamw" => {
            let mut a = spec.args(&["lr", "betas", "eps", "warmup_steps", "weight_decay"])?;
            let d = ScheduleFreeConfig::adamw();
            let (b1, beta2) = pair(&mut a, "betas", (d.b1, 0.999))?;
            Box::new(ScheduleFree::new(ScheduleFreeConfig {
                lr: a.f64_or("lr", d.lr)?,
                b1,
                warmup_steps: a.usize_or("warmup_steps", 0)? as u64,
                weight_decay: a.f64_or("weight_decay", d.weight_decay)?,
                base: ScheduleFreeBase::AdamW { beta2, eps: a.f64_or("eps", 1e-8)? },
            })?)
        }
        "prodigy" => {
            let mut a = spec.args(&["lr", "betas", "eps", "d0", "d_coef", "weight_decay"])?;
            let d = ProdigyConfig::default();
            Box::new(Prodigy::new(ProdigyConfig {
                lr: a.f64_or("lr", d.lr)?,
                betas: pair(&mut a, "betas", d.betas)?,
                eps: a.f64_or("eps", d.eps)?,
                d0: a.f64_or("d0", d.d0)?,
                d_coef: a.f64_or("d_coef", d.d_coef)?,
                weight_decay: a.f64_or("weight_decay", d.weight_decay)?,
            })?)
        }
        "sophia" => {
            let mut a = spec.args(&["lr", "betas", "rho", "weight_decay", "k"])?;
            let d = SophiaConfig::default();
            Box::new(Sophia::new(SophiaConfig {
                lr: a.f64_or("lr", d.lr)?,
                betas: pair(&mut a, "betas", d.betas)?,
                rho: a.f64_or("rho", d.rho)?,
                weight_decay: a.f64_or("weight_decay", d.weight_decay)?,
                k: a.usize_or("k", d.k)?,
            })?)
        }
        "hessian_free" => {
            let mut a = spec.args(&["lr", "damping", "cg_steps", "curvature"])?;
            let d = HessianFreeConfig::default();
            let curvature = match a.word_or("curvature", &["ggn", "hessian"], "ggn")? {
                "hessian" => CurvatureKind::Hessian,
                _ => CurvatureKind::Ggn,
            };
            Box::new(HessianFree::new(HessianFreeConfig {
                lr: a.f64_or("lr", d.lr)?,
                damping: a.f64_or("damping", d.damping)?,
                cg_steps: a.usize_or("cg_steps", d.cg_steps)?,
                curvature,
            })?)
        }
        #[cfg(not(feature = "tensor"))]
        "kfac" => {
            return Err(spec
                .error("kfac inverts its Kronecker factors with dense matrices: build gradus-optim with its `tensor` feature (on by default)")
                .into());
        }
        #[cfg(feature = "tensor")]
        "kfac" => {
            let mut a = spec.args(&["lr", "damping", "momentum", "update_freq", "ema", "kl_clip"])?;
            let d = crate::KfacConfig::default();
            Box::new(crate::Kfac::new(crate::KfacConfig {
                lr: a.f64("lr")?,
                damping: a.f64_or("damping", d.damping)?,
                momentum: a.f64_or("momentum", d.momentum)?,
                update_freq: a.usize_or("update_freq", d.update_freq)?,
                ema: a.f64_or("ema", d.ema)?,
                kl_clip: a.f64_or("kl_clip", d.kl_clip)?,
            })?)
        }
        "sam" => {
            let mut a = spec.args(&["optimizer", "rho", "adaptive"])?;
            if a.get("optimizer").is_none() {
                let why = "is required: the optimiser that steps with the perturbed gradient, as in sam(sgd(lr=0.1, momentum=0.9), rho=0.05)";
                return Err(a.invalid("optimizer", why).into());
            }
            let inner = from_spec::<T>(&a.spec_or("optimizer", "sgd")?)?;
            Box::new(Sam::new(inner, a.f64_or("rho", 0.05)?, a.bool_or("adaptive", false)?)?)
        }
        "lookahead" => {
            let mut a = spec.args(&["optimizer", "k", "alpha"])?;
            if a.get("optimizer").is_none() {
                let why = "is required: the optimiser whose weights it pulls back, as in lookahead(adam(lr=1e-3), k=5)";
                return Err(a.invalid("optimizer", why).into());
            }
            let inner = from_spec::<T>(&a.spec_or("optimizer", "sgd")?)?;
            Box::new(Lookahead::new(inner, a.usize_or("k", 5)?, a.f64_or("alpha", 0.5)?)?)
        }
        "adafactor" => {
            let mut a = spec.args(&["lr", "beta2_decay", "eps", "d", "weight_decay", "maximize"])?;
            let d = AdafactorConfig::default();
            let eps = match a.get("eps").cloned() {
                None => d.eps,
                Some(Value::Tuple(v)) | Some(Value::List(v)) => match &v[..] {
                    [Value::Word(w), Value::Number(e2)] if w == "none" => (None, *e2),
                    [Value::Number(e1), Value::Number(e2)] => (Some(*e1), *e2),
                    _ => {
                        return Err(a
                            .invalid("eps", "must be a pair (eps1, eps2) of numbers, eps1 may be `none`")
                            .into());
                    }
                },
                Some(other) => {
                    return Err(a.invalid("eps", format!("must be a pair (eps1, eps2), got `{other}`")).into());
                }
            };
            Box::new(Adafactor::new(AdafactorConfig {
                lr: a.f64_or("lr", d.lr)?,
                beta2_decay: a.f64_or("beta2_decay", d.beta2_decay)?,
                eps,
                d: a.f64_or("d", d.d)?,
                weight_decay: a.f64_or("weight_decay", d.weight_decay)?,
                maximize: a.bool_or("maximize", d.maximize)?,
            })?)
        }
        "muon" => {
            let mut a = spec.args(&MUON_KEYS)?;
            let d = MuonConfig::default();
            let adjust = ["none", "original", "match_rms_adamw", "spectral_unclamped"];
            let adjust_lr_fn = match a.word_or("adjust_lr_fn", &adjust, "none")? {
                "match_rms_adamw" => AdjustLr::MatchRmsAdamw,
                "spectral_unclamped" => AdjustLr::SpectralUnclamped,
                _ => AdjustLr::Original,
            };
            let fallback = a.spec_or("fallback", MUON_FALLBACK)?;
            if fallback.name == "muon" {
                return Err(a
                    .invalid("fallback", "must be an optimiser for tensors other than matrices, not muon")
                    .into());
            }
            let fallback = from_spec::<T>(&fallback)?;
            Box::new(Muon::new(
                MuonConfig {
                    lr: a.f64_or("lr", d.lr)?,
                    weight_decay: a.f64_or("weight_decay", d.weight_decay)?,
                    momentum: a.f64_or("momentum", d.momentum)?,
                    nesterov: a.bool_or("nesterov", d.nesterov)?,
                    ns_coefficients: triple(&mut a, "ns_coefficients", d.ns_coefficients)?,
                    eps: a.f64_or("eps", d.eps)?,
                    ns_steps: a.usize_or("ns_steps", d.ns_steps)?,
                    adjust_lr_fn,
                },
                fallback,
            )?)
        }
        "novograd" => {
            let mut a = spec.args(&["lr", "betas", "eps", "eps_root", "weight_decay"])?;
            let d = NovogradConfig::with_lr(a.f64("lr")?);
            Box::new(Novograd::new(NovogradConfig {
                betas: pair(&mut a, "betas", d.betas)?,
                eps: a.f64_or("eps", d.eps)?,
                eps_root: a.f64_or("eps_root", d.eps_root)?,
                weight_decay: a.f64_or("weight_decay", d.weight_decay)?,
                ..d
            })?)
        }
        "adopt" => {
            let mut a = spec.args(&["lr", "betas", "eps", "nesterov", "use_clipping"])?;
            let d = AdoptConfig::with_lr(a.f64("lr")?);
            Box::new(Adopt::new(AdoptConfig {
                betas: pair(&mut a, "betas", d.betas)?,
                eps: a.f64_or("eps", d.eps)?,
                nesterov: a.bool_or("nesterov", d.nesterov)?,
                use_clipping: a.bool_or("use_clipping", d.use_clipping)?,
                ..d
            })?)
        }
        "ademamix" => {
            let mut a = spec.args(&["lr", "betas", "alpha", "eps", "eps_root", "weight_decay"])?;
            let d = AdemamixConfig::with_lr(a.f64("lr")?);
            Box::new(Ademamix::new(AdemamixConfig {
                betas: triple(&mut a, "betas", d.betas)?,
                alpha: a.f64_or("alpha", d.alpha)?,
                eps: a.f64_or("eps", d.eps)?,
                eps_root: a.f64_or("eps_root", d.eps_root)?,
                weight_decay: a.f64_or("weight_decay", d.weight_decay)?,
                ..d
            })?)
        }
        "lamb" => {
            let mut a = spec.args(&["lr", "betas", "eps", "eps_root", "weight_decay"])?;
            let d = LambConfig::with_lr(a.f64("lr")?);
            Box::new(Lamb::new(LambConfig {
                betas: pair(&mut a, "betas", d.betas)?,
                eps: a.f64_or("eps", d.eps)?,
                eps_root: a.f64_or("eps_root", d.eps_root)?,
                weight_decay: a.f64_or("weight_decay", d.weight_decay)?,
                ..d
            })?)
        }
        "lars" => {
            let mut a = spec.args(&["lr", "momentum", "weight_decay", "trust_coefficient", "eps", "nesterov"])?;
            let d = LarsConfig::with_lr(a.f64("lr")?);
            Box::new(Lars::new(LarsConfig {
                momentum: a.f64_or("momentum", d.momentum)?,
                weight_decay: a.f64_or("weight_decay", d.weight_decay)?,
                trust_coefficient: a.f64_or("trust_coefficient", d.trust_coefficient)?,
                eps: a.f64_or("eps", d.eps)?,
                nesterov: a.bool_or("nesterov", d.nesterov)?,
                ..d
            })?)
        }
        "signum" => {
            let mut a = spec.args(&["lr", "momentum"])?;
            let lr = a.f64("lr")?;
            Box::new(Signum::new(SignumConfig { lr, momentum: a.f64_or("momentum", 0.9)? })?)
        }
        "yogi" => {
            let mut a = spec.args(&["lr", "betas", "eps"])?;
            let d = YogiConfig::with_lr(a.f64("lr")?);
            Box::new(Yogi::new(YogiConfig {
                betas: pair(&mut a, "betas", d.betas)?,
                eps: a.f64_or("eps", d.eps)?,
                ..d
            })?)
        }
        "adabelief" => {
            let mut a = spec.args(&["lr", "betas", "eps", "eps_root"])?;
            let d = AdaBeliefConfig::with_lr(a.f64("lr")?);
            Box::new(AdaBelief::new(AdaBeliefConfig {
                betas: pair(&mut a, "betas", d.betas)?,
                eps: a.f64_or("eps", d.eps)?,
                eps_root: a.f64_or("eps_root", d.eps_root)?,
                ..d
            })?)
        }
        "lion" => {
            let mut a = spec.args(&["lr", "betas", "weight_decay"])?;
            let d = LionConfig::with_lr(a.f64("lr")?);
            Box::new(Lion::new(LionConfig {
                betas: pair(&mut a, "betas", d.betas)?,
                weight_decay: a.f64_or("weight_decay", d.weight_decay)?,
                ..d
            })?)
        }
        "adamax" => {
            let mut a = spec.args(&["lr", "betas", "eps", "weight_decay", "maximize"])?;
            let d = AdamaxConfig::default();
            Box::new(Adamax::new(AdamaxConfig {
                lr: a.f64_or("lr", d.lr)?,
                betas: pair(&mut a, "betas", d.betas)?,
                eps: a.f64_or("eps", d.eps)?,
                weight_decay: a.f64_or("weight_decay", d.weight_decay)?,
                maximize: a.bool_or("maximize", d.maximize)?,
            })?)
        }
        "radam" => {
            let mut a = spec.args(&["lr", "betas", "eps", "weight_decay", "decoupled_weight_decay", "maximize"])?;
            let d = RadamConfig::default();
            Box::new(Radam::new(RadamConfig {
                lr: a.f64_or("lr", d.lr)?,
                betas: pair(&mut a, "betas", d.betas)?,
                eps: a.f64_or("eps", d.eps)?,
                weight_decay: WeightDecay::from_keys(
                    a.f64_or("weight_decay", d.weight_decay.rate())?,
                    a.bool_or("decoupled_weight_decay", d.weight_decay.is_decoupled())?,
                ),
                maximize: a.bool_or("maximize", d.maximize)?,
            })?)
        }
        "rprop" => {
            let mut a = spec.args(&["lr", "etas", "step_sizes", "maximize"])?;
            let d = RpropConfig::default();
            Box::new(Rprop::new(RpropConfig {
                lr: a.f64_or("lr", d.lr)?,
                etas: pair(&mut a, "etas", d.etas)?,
                step_sizes: pair(&mut a, "step_sizes", d.step_sizes)?,
                maximize: a.bool_or("maximize", d.maximize)?,
            })?)
        }
        "asgd" => {
            let mut a = spec.args(&["lr", "lambd", "alpha", "t0", "weight_decay", "maximize"])?;
            let d = AsgdConfig::default();
            Box::new(Asgd::new(AsgdConfig {
                lr: a.f64_or("lr", d.lr)?,
                lambd: a.f64_or("lambd", d.lambd)?,
                alpha: a.f64_or("alpha", d.alpha)?,
                t0: a.f64_or("t0", d.t0)?,
                weight_decay: a.f64_or("weight_decay", d.weight_decay)?,
                maximize: a.bool_or("maximize", d.maximize)?,
            })?)
        }
        name @ ("newton" | "lbfgs") => {
            return Err(spec.error(format!("`{name}` re-evaluates the loss: build it with parse_method")).into());
        }
        other => return Err(spec.error(format!("unknown optimiser `{other}`; accepted: {}", NAMES.join(", "))).into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A name in `NAMES` without an arm, an arm without its name in
    /// `NAMES` (the arms are read from this file), or a listed name the
    /// parser calls unknown, fails here.
    #[test]
    fn names_arms_and_parser_agree() {
        let parse = |name: &str| parse_method::<f64>(name).map(drop).map_err(|e| e.to_string());
        gradus_spec::check_parser(include_str!("spec.rs"), &NAMES, "unknown optimiser", parse).unwrap();
    }
}
