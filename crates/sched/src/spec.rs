//! Schedules from spec strings (docs/cli.md): `cosine(t_max=100)`.

use crate::error::Result;
use crate::*;
use gradus_spec::Spec;

/// A schedule built from a spec: a function of the step, or the stateful
/// reduce-on-plateau.
#[derive(Debug)]
pub enum Schedule {
    /// Any schedule but plateau.
    Steps(Box<dyn LrScheduler>),
    /// `plateau(…)`: observes a metric each epoch.
    Plateau(PlateauOptions),
}

/// The schedule names [`parse`] accepts.
pub const NAMES: [&str; 17] = [
    "constant",
    "step",
    "multistep",
    "exponential",
    "inverse_time",
    "polynomial",
    "linear",
    "cosine",
    "warm_restarts",
    "cyclic",
    "onecycle",
    "plateau",
    "sequential",
    "multiplicative",
    "chained",
    "warmup_cosine",
    "piecewise",
];

/// Parses a schedule spec. Keys are PyTorch's argument names and defaults.
///
/// ```
/// use gradus_sched::{LrScheduler, Schedule, parse};
/// let Schedule::Steps(s) = parse("step(step_size=2, gamma=0.5)").unwrap() else { unreachable!() };
/// assert_eq!(s.lr(1.0, 4), 0.25);
/// let err = parse("cosine(t_max=0)").unwrap_err().to_string();
/// assert_eq!(err, "cosine: `t_max` must be positive, got 0");
/// let err = parse("cosin(t_max=5)").unwrap_err().to_string();
/// assert!(err.starts_with("cosin(t_max=5): unknown schedule `cosin`; accepted: constant, step,"));
/// ```
///
/// # Errors
/// An unknown name or key, a missing key, a value of the wrong kind, or a
/// value out of range.
pub fn parse(text: &str) -> Result<Schedule> {
    from_spec(&text.parse::<Spec>()?)
}

/// Builds a schedule from a parsed spec (see [`parse`]).
///
/// # Errors
/// As [`parse`].
pub fn from_spec(spec: &Spec) -> Result<Schedule> {
    let boxed = |s: Box<dyn LrScheduler>| Ok(Schedule::Steps(s));
    match spec.name.as_str() {
        "constant" => {
            let mut a = spec.args(&["factor", "total_iters"])?;
            boxed(Box::new(Constant::new(a.f64_or("factor", 1.0)?, a.usize_or("total_iters", 0)?)?))
        }
        "step" => {
            let mut a = spec.args(&["step_size", "gamma"])?;
            boxed(Box::new(StepDecay::new(a.usize("step_size")?, a.f64_or("gamma", 0.1)?)?))
        }
        "multistep" => {
            let mut a = spec.args(&["milestones", "gamma"])?;
            let ms = steps(&mut a, "milestones")?;
            boxed(Box::new(MultiStep::new(ms, a.f64_or("gamma", 0.1)?)?))
        }
        "exponential" => {
            let mut a = spec.args(&["gamma"])?;
            boxed(Box::new(Exponential::new(a.f64("gamma")?)?))
        }
        "inverse_time" => {
            let mut a = spec.args(&["k", "power"])?;
            boxed(Box::new(InverseTime::new(a.f64("k")?, a.f64_or("power", 1.0)?)?))
        }
        "polynomial" => {
            let mut a = spec.args(&["total_iters", "power"])?;
            boxed(Box::new(Polynomial::new(a.usize_or("total_iters", 5)?, a.f64_or("power", 1.0)?)?))
        }
        "linear" => {
            let mut a = spec.args(&["start_factor", "end_factor", "total_iters"])?;
            let (s, e) = (a.f64_or("start_factor", 1.0 / 3.0)?, a.f64_or("end_factor", 1.0)?);
            boxed(Box::new(LinearRamp::new(s, e, a.usize_or("total_iters", 5)?)?))
        }
        "cosine" => {
            let mut a = spec.args(&["t_max", "eta_min"])?;
            boxed(Box::new(Cosine::new(a.usize("t_max")?, a.f64_or("eta_min", 0.0)?)?))
        }
        "warm_restarts" => {
            let mut a = spec.args(&["t_0", "t_mult", "eta_min"])?;
            boxed(Box::new(WarmRestarts::new(a.usize("t_0")?, a.usize_or("t_mult", 1)?, a.f64_or("eta_min", 0.0)?)?))
        }
        "cyclic" => {
            let keys = [
                "base_lr",
                "max_lr",
                "step_size_up",
                "step_size_down",
                "mode",
                "gamma",
                "cycle_momentum",
                "base_momentum",
                "max_momentum",
            ];
            let mut a = spec.args(&keys)?;
            let mode = match a.word_or("mode", &["triangular", "triangular2", "exp_range"], "triangular")? {
                "triangular" => CyclicMode::Triangular,
                "triangular2" => CyclicMode::Triangular2,
                _ => CyclicMode::ExpRange { gamma: a.f64_or("gamma", 1.0)? },
            };
            let momentum = a
                .bool_or("cycle_momentum", true)?
                .then(|| {
                    Ok::<_, gradus_spec::SpecError>((a.f64_or("base_momentum", 0.8)?, a.f64_or("max_momentum", 0.9)?))
                })
                .transpose()?;
            let up = a.usize_or("step_size_up", 2000)?;
            let down = a.get("step_size_down").is_some().then(|| a.usize("step_size_down")).transpose()?;
            boxed(Box::new(Cyclic::new(a.f64("base_lr")?, a.f64("max_lr")?, up, down, mode, momentum)?))
        }
        "onecycle" => {
            let keys = [
                "max_lr",
                "total_steps",
                "pct_start",
                "anneal_strategy",
                "cycle_momentum",
                "base_momentum",
                "max_momentum",
                "div_factor",
                "final_div_factor",
                "three_phase",
            ];
            let mut a = spec.args(&keys)?;
            let d = OneCycleOptions::default();
            let o = OneCycleOptions {
                pct_start: a.f64_or("pct_start", d.pct_start)?,
                anneal: if a.word_or("anneal_strategy", &["cos", "linear"], "cos")? == "cos" {
                    Anneal::Cos
                } else {
                    Anneal::Linear
                },
                cycle_momentum: a.bool_or("cycle_momentum", d.cycle_momentum)?,
                base_momentum: a.f64_or("base_momentum", d.base_momentum)?,
                max_momentum: a.f64_or("max_momentum", d.max_momentum)?,
                div_factor: a.f64_or("div_factor", d.div_factor)?,
                final_div_factor: a.f64_or("final_div_factor", d.final_div_factor)?,
                three_phase: a.bool_or("three_phase", d.three_phase)?,
            };
            boxed(Box::new(OneCycle::new(a.f64("max_lr")?, a.usize("total_steps")?, o)?))
        }
        "plateau" => {
            let keys = ["mode", "factor", "patience", "threshold", "threshold_mode", "cooldown", "min_lr", "eps"];
            let mut a = spec.args(&keys)?;
            let d = PlateauOptions::default();
            let o = PlateauOptions {
                mode: if a.word_or("mode", &["min", "max"], "min")? == "min" { Mode::Min } else { Mode::Max },
                factor: a.f64_or("factor", d.factor)?,
                patience: a.usize_or("patience", d.patience)?,
                threshold: a.f64_or("threshold", d.threshold)?,
                threshold_mode: if a.word_or("threshold_mode", &["rel", "abs"], "rel")? == "rel" {
                    ThresholdMode::Rel
                } else {
                    ThresholdMode::Abs
                },
                cooldown: a.usize_or("cooldown", d.cooldown)?,
                min_lr: a.f64_or("min_lr", d.min_lr)?,
                eps: a.f64_or("eps", d.eps)?,
            };
            ReduceOnPlateau::new(1.0, o)?; // validates
            Ok(Schedule::Plateau(o))
        }
        "sequential" => {
            let mut a = spec.args(&["schedulers", "milestones"])?;
            let mut schedules = Vec::new();
            for inner in a.specs("schedulers")? {
                match from_spec(&inner)? {
                    Schedule::Steps(s) => schedules.push(s),
                    Schedule::Plateau(_) => return Err(spec.error("plateau cannot be part of a sequence").into()),
                }
            }
            let ms = steps(&mut a, "milestones")?;
            boxed(Box::new(Phases::new(schedules, ms)?))
        }
        "multiplicative" => {
            let mut a = spec.args(&["factor"])?;
            boxed(Box::new(Multiplicative::new(a.f64("factor")?)?))
        }
        "chained" => {
            let mut a = spec.args(&["schedulers"])?;
            let mut schedules = Vec::new();
            for inner in a.specs("schedulers")? {
                match (inner.name.as_str(), from_spec(&inner)?) {
                    ("cyclic" | "onecycle", _) | (_, Schedule::Plateau(_)) => {
                        return Err(spec
                            .error(format!(
                                "`{}` sets the rate itself, so it cannot be multiplied into a chain; chain schedules that scale the rate",
                                inner.name
                            ))
                            .into());
                    }
                    (_, Schedule::Steps(s)) => schedules.push(s),
                }
            }
            boxed(Box::new(Chained::new(schedules)?))
        }
        "warmup_cosine" => {
            let mut a = spec.args(&["peak", "warmup_steps", "decay_steps", "init", "end", "exponent"])?;
            boxed(Box::new(WarmupCosine::new(
                a.f64("peak")?,
                a.usize("warmup_steps")?,
                a.usize("decay_steps")?,
                a.f64_or("init", 0.0)?,
                a.f64_or("end", 0.0)?,
                a.f64_or("exponent", 1.0)?,
            )?))
        }
        "piecewise" => {
            let mut a = spec.args(&["boundaries", "scales", "interpolate"])?;
            let interpolate = match a.word_or("interpolate", &["none", "linear", "cosine"], "none")? {
                "linear" => Interpolate::Linear,
                "cosine" => Interpolate::Cosine,
                _ => Interpolate::None,
            };
            let boundaries = steps(&mut a, "boundaries")?;
            boxed(Box::new(Piecewise::new(boundaries, a.numbers("scales")?, interpolate)?))
        }
        other => Err(spec.error(format!("unknown schedule `{other}`; accepted: {}", NAMES.join(", "))).into()),
    }
}

/// A list of step numbers (non-negative integers).
fn steps(a: &mut gradus_spec::Args, key: &str) -> Result<Vec<usize>> {
    let values = a.numbers(key)?;
    let mut out = Vec::with_capacity(values.len());
    for m in values {
        if !(m >= 0.0 && m.fract() == 0.0) {
            return Err(a.invalid(key, format!("must hold non-negative integers, got {m}")).into());
        }
        out.push(m as usize);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A name in `NAMES` without an arm, an arm without its name in
    /// `NAMES` (the arms are read from this file), or a listed name the
    /// parser calls unknown, fails here.
    #[test]
    fn names_arms_and_parser_agree() {
        let parse = |name: &str| super::parse(name).map(drop).map_err(|e| e.to_string());
        gradus_spec::check_parser(include_str!("spec.rs"), &NAMES, "unknown schedule", parse).unwrap();
    }
}
