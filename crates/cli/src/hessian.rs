//! `gradus hessian`: the curvature of a test function at a point.

use crate::trace::value_and_gradient;
use crate::{Failure, TextFormat, functions, output, say, usage};
use gradus::autodiff::{PointKind, curvature};
use gradus::tensor::Tensor;

pub(crate) fn hessian(function: &str, at: &str, format: TextFormat) -> Result<(), Failure> {
    let func = functions::lookup(function).map_err(usage)?;
    let p = functions::point(at, func.dim, "--at").map_err(usage)?;
    let (value, gradient) = value_and_gradient(func.f, &p)?;
    if !value.is_finite() || !gradient.iter().all(|g| g.is_finite()) {
        return Err(usage(format!(
            "{function} at --at={at}: the value {value} and gradient {gradient:?} are not all finite; give a point where they are"
        )));
    }
    let c = curvature(func.f, &Tensor::from_slice(&p, &[p.len()])?)
        .map_err(|e| usage(format!("{function} at --at={at}: {e}")))?;
    let kind = if c.gradient_norm > 1e-8 * (1.0 + value.abs()) {
        "not critical"
    } else {
        match c.kind {
            PointKind::Minimum => "minimum",
            PointKind::Maximum => "maximum",
            PointKind::Saddle => "saddle",
            PointKind::Degenerate => "degenerate",
        }
    };
    let report = output::Curvature {
        point: p,
        value,
        gradient,
        hessian: c.hessian.to_vec(),
        eigenvalues: c.eigenvalues.clone(),
        kind,
        condition_number: c.condition_number,
        max_stable_lr: c.max_stable_lr,
    };
    say(&if matches!(format, TextFormat::Json) { report.json() } else { report.text() })
}
