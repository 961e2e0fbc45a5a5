//! `gradus trace`: an optimiser's path on a test function, row by row,
//! and its plot.

use crate::functions;
use crate::outputs::plot_bound;
use crate::schedule::schedule_range;
use crate::{Failure, Format, output, stdout, usage};
use gradus::autodiff::{Tape, curvature, grad};
use gradus::optim::{Method, Optimizer, parse_method};
use gradus::sched::Schedule;
use gradus::tensor::Tensor;
use std::path::PathBuf;

/// f and ∇f at `p`.
pub(crate) fn value_and_gradient(
    f: fn(&gradus::autodiff::Var<f64>) -> gradus::autodiff::Var<f64>,
    p: &[f64],
) -> Result<(f64, Vec<f64>), Failure> {
    let tape = Tape::new();
    let x = tape.leaf(Tensor::from_slice(p, &[p.len()])?);
    let y = f(&x);
    let g = grad(&[&y], None, &[&x], Default::default())?.remove(0).expect("x is used");
    Ok((y.item(), g.value().to_vec()))
}

/// One step of a method on a point: (step index, the point); returns the
/// segment the figure draws faintly for it, if the method has one (from
/// an iterate to a point it evaluated or keeps).
type Step<'a> = dyn FnMut(usize, &mut Vec<f64>) -> Result<Option<Segment>, Failure> + 'a;

/// An iterate and another point of the method's, both in full.
pub(crate) type Segment = (Vec<f64>, Vec<f64>);

pub(crate) fn trace(
    function: &str,
    start: &str,
    optimizer: &str,
    steps: usize,
    schedule: Option<&str>,
    format: Format,
    plot: Option<PathBuf>,
) -> Result<(), Failure> {
    let func = functions::lookup(function).map_err(usage)?;
    let mut p = functions::point(start, func.dim, "--start").map_err(usage)?;
    let method = parse_method::<f64>(optimizer).map_err(usage)?;
    let sched = match schedule.map(gradus::sched::parse).transpose().map_err(usage)? {
        Some(Schedule::Steps(s)) => Some(s),
        Some(Schedule::Plateau(_)) => {
            return Err(usage("--schedule: plateau needs a metric; trace takes step schedules"));
        }
        None => None,
    };
    if let (Some(s), Some(text)) = (&sched, schedule) {
        schedule_range(s.as_ref(), text, steps)?;
    }
    plot_bound(&plot, steps)?;
    let start_value = value_and_gradient(func.f, &p)?.0;
    if !start_value.is_finite() {
        return Err(usage(format!("{function} is {start_value} at --start={start}; start where it is finite")));
    }
    // One step of the method, whichever it is.
    let rate = |t: usize, base: f64| sched.as_ref().map(|s| s.lr(base, t));
    let mut shadow_label = None;
    let mut advance: Box<Step<'_>> = match method {
        Method::FirstOrder(opt) => {
            if opt.curvature_request().is_some_and(|r| r.kind == gradus::optim::CurvatureKind::Kronecker) {
                return Err(usage(format!(
                    "{}: its Kronecker factors come from the inputs and output gradients of linear and convolution layers, and a test function has none; train a network with it (`gradus train`)",
                    opt.name()
                )));
            }
            let sam = opt.sharpness_aware();
            let slow = opt.slots(&[p.len()]).iter().position(|s| *s == "slow");
            shadow_label = Some(if sam.is_some() {
                "θ + e, where SAM takes its gradient"
            } else if slow.is_some() {
                "slow weights"
            } else {
                "evaluation weights x"
            });
            let mut driver = Optimizer::boxed(opt);
            let base = driver.groups()[0].initial_lr;
            Box::new(move |t, p| {
                if let Some(lr) = rate(t, base) {
                    driver.set_lr(lr);
                }
                let (_, mut g) = value_and_gradient(func.f, p)?;
                if driver.curvature_request().is_some_and(|r| r.kind.solves()) {
                    // Hessian-free on the function: products with its Hessian
                    // (the Gauss–Newton matrix of a function is the Hessian).
                    let h = curvature(func.f, &Tensor::from_slice(p, &[p.len()])?)?.hessian.to_vec();
                    let mut oracle = FunctionOracle { f: func.f, hessian: h };
                    let n = p.len();
                    driver.step_solving([(0, &[n][..], &mut p[..], Some(&g[..]))], &mut oracle)?;
                    return Ok(None);
                }
                if driver.curvature_request().is_some_and(|r| t.is_multiple_of(r.every)) {
                    // Hutchinson's u ⊙ (Hu) from the function's Hessian.
                    let h = curvature(func.f, &Tensor::from_slice(p, &[p.len()])?)?.hessian.to_vec();
                    let u: Vec<f64> = gradus::hessian::unit_gaussian(p.len(), gradus::PROBE_SEED ^ t as u64);
                    let n = p.len();
                    let estimate: Vec<f64> =
                        (0..n).map(|i| u[i] * (0..n).map(|j| h[i * n + j] * u[j]).sum::<f64>()).collect();
                    driver.observe_curvature(0, &[n], p, gradus::optim::Estimate::HessianDiagonal(&estimate))?;
                }
                let mut segment = None;
                if let Some(sam) = sam {
                    // SAM's second gradient, at θ + e.
                    let e = sam.ascent(&[&p[..]], &[&g[..]]).remove(0);
                    let q: Vec<f64> = p.iter().zip(&e).map(|(a, b)| a + b).collect();
                    g = value_and_gradient(func.f, &q)?.1;
                    segment = Some((p.clone(), q));
                }
                driver.update(0, p, &g)?;
                let kept = match slow {
                    Some(k) => driver.state(0).map(|s| s.slots[k].clone()),
                    None => driver.eval_params(0, p),
                };
                Ok(segment.or_else(|| kept.map(|k| (p.clone(), k))))
            })
        }
        Method::Newton(mut newton) => {
            let base = newton.lr();
            Box::new(move |t, p| {
                if let Some(lr) = rate(t, base) {
                    newton.set_lr(lr).map_err(usage)?;
                }
                let c = curvature(func.f, &Tensor::from_slice(p, &[p.len()])?)?;
                let (_, g) = value_and_gradient(func.f, p)?;
                newton.step(p, &g, &c.hessian).map_err(|e| Failure::Diverged(format!("step {}: {e}", t + 1)))?;
                Ok(None)
            })
        }
        Method::Lbfgs(mut lbfgs) => {
            let base = lbfgs.lr();
            Box::new(move |t, p| {
                if let Some(lr) = rate(t, base) {
                    lbfgs.set_lr(lr).map_err(usage)?;
                }
                let mut failure = None;
                lbfgs.step(p, |q| match value_and_gradient(func.f, q) {
                    Ok(v) => v,
                    Err(e) => {
                        failure = Some(e);
                        (f64::NAN, vec![0.0; q.len()])
                    }
                });
                failure.map_or(Ok(None), Err)
            })
        }
    };
    let mut out = output::Rows::new(stdout(), matches!(format, Format::Json), &output::trace_header(func.dim))?;
    let mut kept = Vec::new();
    let mut emit = |t: usize, p: &[f64], loss: f64| -> Result<(), Failure> {
        let (csv, json) = output::trace_row(t, p, loss);
        out.row(|| csv, || json)?;
        if plot.is_some() {
            kept.push((p.to_vec(), loss));
        }
        Ok(())
    };
    emit(0, &p, start_value)?;
    let mut diverged = None;
    let mut segments = Vec::new();
    for t in 0..steps {
        match advance(t, &mut p) {
            Ok(segment) => segments.extend(segment),
            Err(e) => {
                diverged = Some(e);
                break;
            }
        }
        let loss = value_and_gradient(func.f, &p)?.0;
        emit(t + 1, &p, loss)?;
        if !loss.is_finite() || !p.iter().all(|x| x.is_finite()) {
            diverged = Some(Failure::Diverged(format!(
                "the trace diverged at step {}: the loss is {loss} at {p:?}; the rows up to it are printed",
                t + 1
            )));
            break;
        }
    }
    out.finish()?;
    if let Some(path) = plot {
        let shadow = shadow_label.filter(|_| !segments.is_empty()).map(|label| (label, &segments[..]));
        output::plot_trace(&path, func, &kept, optimizer, shadow)?;
    }
    diverged.map_or(Ok(()), Err)
}

/// A test function as a Hessian-free method's oracle: products with its
/// Hessian at the step's start, and its value elsewhere.
struct FunctionOracle {
    f: fn(&gradus::autodiff::Var<f64>) -> gradus::autodiff::Var<f64>,
    hessian: Vec<f64>,
}

impl gradus::optim::CurvatureOracle<f64> for FunctionOracle {
    fn product(&mut self, v: &[f64]) -> Result<Vec<f64>, String> {
        let n = v.len();
        Ok((0..n).map(|i| (0..n).map(|j| self.hessian[i * n + j] * v[j]).sum()).collect())
    }

    fn loss_at(&mut self, theta: &[f64]) -> Result<f64, String> {
        match value_and_gradient(self.f, theta) {
            Ok((v, _)) => Ok(v),
            Err(Failure::Usage(m) | Failure::Run(m) | Failure::Diverged(m)) => Err(m),
            Err(_) => Err("the function could not be evaluated".into()),
        }
    }
}
