//! `gradus schedule`: a learning-rate schedule's rate (and momentum) step
//! by step, and its plot.

use crate::outputs::plot_bound;
use crate::{Failure, Format, finite, output, stdout, usage};
use gradus::sched::{ReduceOnPlateau, Schedule};
use std::path::PathBuf;

pub(crate) fn schedule(
    spec: &str,
    lr: f64,
    steps: usize,
    momentum: Option<f64>,
    metrics: Option<PathBuf>,
    format: Format,
    plot: Option<PathBuf>,
) -> Result<(), Failure> {
    let parsed = gradus::sched::parse(spec).map_err(usage)?;
    plot_bound(&plot, steps)?;
    // Each step's (lr, momentum): computed from the schedule, or from the
    // plateau fed one metric per step.
    let mut at: Box<dyn FnMut(usize) -> (f64, Option<f64>)> = match parsed {
        Schedule::Steps(s) => {
            if metrics.is_some() {
                return Err(usage("--metrics is for plateau schedules only"));
            }
            schedule_range(s.as_ref(), spec, steps)?;
            Box::new(move |t| (s.lr(lr, t), s.momentum(t).or(momentum)))
        }
        Schedule::Plateau(options) => {
            let path =
                metrics.ok_or_else(|| usage("plateau needs --metrics FILE (one number per line, one per step)"))?;
            let text = std::fs::read_to_string(&path).map_err(|e| usage(format!("{}: {e}", path.display())))?;
            let values: Vec<f64> = text
                .lines()
                .enumerate()
                .filter(|(_, l)| !l.trim().is_empty())
                .map(|(i, l)| finite(l.trim()).map_err(|e| usage(format!("{}:{}: {e}", path.display(), i + 1))))
                .collect::<Result<_, _>>()?;
            if values.len() < steps {
                return Err(usage(format!("--metrics: {} values for {steps} steps", values.len())));
            }
            let mut p = ReduceOnPlateau::new(lr, options)?;
            Box::new(move |t| {
                let now = p.lr();
                p.observe(values[t]);
                (now, momentum)
            })
        }
    };
    let mut out = output::Rows::new(stdout(), matches!(format, Format::Json), "step,lr,momentum")?;
    let (mut lrs, mut moms) = (Vec::new(), Vec::new());
    let mut overflow = None;
    for t in 0..steps {
        let (rate, m) = at(t);
        let (csv, json) = output::schedule_row(t, rate, m);
        out.row(|| csv, || json)?;
        if plot.is_some() {
            lrs.push(rate);
            moms.push(m);
        }
        if !rate.is_finite() || m.is_some_and(|m| !m.is_finite()) {
            overflow = Some(Failure::Diverged(format!(
                "{spec} with --lr {lr}: the rate at step {t} is {rate}; the rows up to it are printed"
            )));
            break;
        }
    }
    out.finish()?;
    if let Some(path) = plot {
        let moms: Option<Vec<f64>> = moms.into_iter().collect();
        gradus::plot::schedule(&path, spec, &lrs, moms.as_deref())?;
    }
    overflow.map_or(Ok(()), Err)
}

/// Refuses more steps than a schedule defines (onecycle), before any output.
pub(crate) fn schedule_range(s: &dyn gradus::sched::LrScheduler, spec: &str, steps: usize) -> Result<(), Failure> {
    match s.last_step() {
        Some(last) if steps > last + 1 => Err(usage(format!(
            "{spec} defines steps 0 … {last}; --steps {steps} asks for step {} (torch's OneCycleLR raises past total_steps)",
            steps - 1
        ))),
        _ => Ok(()),
    }
}
