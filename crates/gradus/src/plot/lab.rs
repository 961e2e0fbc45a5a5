//! Figures of a trained network: its Hessian's spectral density, sharpness
//! against 2/η during training, the loss along a line or over a plane
//! through its parameters, and the learning-rate range test.

use super::{PALETTE, drawable, drawable_runs, err, range, svg, tick};
use crate::{GradusError, SharpnessPoint};
use plotters::prelude::*;
use std::path::Path;

/// The spectral density of a Hessian (stochastic Lanczos quadrature) on a
/// log scale, as PyHessian draws it, with the largest eigenvalues marked.
///
/// # Errors
/// [`GradusError::Plot`] if the file cannot be written.
pub fn spectrum(path: &Path, grid: &[f64], density: &[f64], top: &[f64]) -> Result<(), GradusError> {
    // Densities below 1e-12 of the peak are drawn at that floor: on a log
    // scale the Gaussian tails would otherwise run off the figure.
    let peak = density.iter().copied().filter(|d| drawable(*d)).fold(0.0f64, f64::max).max(f64::MIN_POSITIVE);
    let floor = peak * 1e-8;
    let ((x0, x1), _) = range(grid.iter().chain(top).copied());
    svg(path, (720, 420), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption("Hessian eigenvalue density (dashed: the largest eigenvalues)", ("sans-serif", 16))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(64)
            .build_cartesian_2d(x0..x1, (floor..peak * 2.0).log_scale())
            .map_err(|e| err(path, e))?;
        chart
            .configure_mesh()
            .x_desc("eigenvalue")
            .y_desc("density (log scale)")
            .x_label_formatter(&tick)
            .y_label_formatter(&|v| format!("{v:.0e}"))
            .draw()
            .map_err(|e| err(path, e))?;
        let points = grid.iter().zip(density).map(|(&x, &d)| (x, if d.is_finite() { d.max(floor) } else { f64::NAN }));
        chart
            .draw_series(drawable_runs(points).into_iter().map(|r| PathElement::new(r, PALETTE[0].stroke_width(2))))
            .map_err(|e| err(path, e))?;
        for &l in top.iter().filter(|l| drawable(**l)) {
            let dashes = (0..40).step_by(2).map(|j| {
                let at = |k: f64| floor * (peak * 2.0 / floor).powf(k / 40.0);
                PathElement::new(vec![(l, at(j as f64)), (l, at(j as f64 + 1.0))], PALETTE[3].stroke_width(1))
            });
            chart.draw_series(dashes).map_err(|e| err(path, e))?;
        }
        Ok(())
    })
}

/// Sharpness (λ_max of the training loss) against the step, one colour per
/// run, each with its 2/η as a dashed line of the same colour: gradient
/// descent at rate η is stable on a quadratic only while λ_max < 2/η.
///
/// # Errors
/// [`GradusError::Plot`] if the file cannot be written.
pub fn sharpness(path: &Path, title: &str, runs: &[(String, Vec<SharpnessPoint>)]) -> Result<(), GradusError> {
    type Rows = Vec<(f64, f64, f64, Option<f64>)>;
    let runs: Vec<(String, Rows)> = runs
        .iter()
        .map(|(n, r)| (n.clone(), r.iter().map(|p| (p.step as f64, p.sharpness, p.lr, p.ggn)).collect()))
        .collect();
    let steps = runs.iter().flat_map(|(_, r)| r.iter().map(|p| p.0)).fold(1.0f64, f64::max);
    let ggn = runs.iter().any(|(_, r)| r.iter().any(|p| p.3.is_some()));
    let values = runs.iter().flat_map(|(_, r)| r.iter().flat_map(|p| [p.1, 2.0 / p.2, p.3.unwrap_or(p.1)]));
    let ((lo, hi), _) = range(values.chain([0.0]));
    svg(path, (820, 460), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 16))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(0.0..steps, lo.max(0.0)..hi)
            .map_err(|e| err(path, e))?;
        chart
            .configure_mesh()
            .x_desc("step")
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_desc(if ggn {
                "λ_max: Hessian (line), Gauss–Newton (rings); 2/η (dashed)"
            } else {
                "sharpness λ_max (solid), 2/η (dashed)"
            })
            .y_label_formatter(&tick)
            .draw()
            .map_err(|e| err(path, e))?;
        for (i, (name, rows)) in runs.iter().enumerate() {
            let c = PALETTE[i % PALETTE.len()];
            let lines = drawable_runs(rows.iter().map(|p| (p.0, p.1)));
            chart
                .draw_series(lines.into_iter().map(|r| PathElement::new(r, c.stroke_width(2))))
                .map_err(|e| err(path, e))?
                .label(name.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
            // The Gauss–Newton matrix's as rings on each measurement: where
            // it equals the Hessian's, they sit on its line.
            let rings = rows.iter().filter_map(|p| p.3.map(|g| (p.0, g))).filter(|p| drawable(p.1));
            chart.draw_series(rings.map(|p| Circle::new(p, 3, c.stroke_width(1)))).map_err(|e| err(path, e))?;
            let limit: Vec<(f64, f64)> = rows.iter().map(|p| (p.0, 2.0 / p.2)).filter(|p| drawable(p.1)).collect();
            let dashes = limit.windows(2).flat_map(|w| {
                let (a, b) = (w[0], w[1]);
                let n = 8;
                (0..n).step_by(2).map(move |j| {
                    let at = |t: f64| (a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1));
                    PathElement::new(vec![at(j as f64 / n as f64), at((j + 1) as f64 / n as f64)], c)
                })
            });
            chart.draw_series(dashes).map_err(|e| err(path, e))?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .border_style(BLACK)
            .background_style(WHITE.mix(0.85))
            .draw()
            .map_err(|e| err(path, e))
    })
}

/// The loss and accuracy along a line θ(α) through parameter space (two
/// checkpoints interpolated, or a filter-normalised direction): `rows`
/// holds (α, loss, accuracy).
///
/// # Errors
/// [`GradusError::Plot`] if the file cannot be written.
pub fn landscape_line(path: &Path, title: &str, rows: &[(f64, f64, f64)]) -> Result<(), GradusError> {
    let ((a0, a1), _) = range(rows.iter().map(|r| r.0));
    let ((lo, hi), _) = range(rows.iter().map(|r| r.1));
    svg(path, (760, 440), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 16))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .right_y_label_area_size(56)
            .build_cartesian_2d(a0..a1, lo..hi)
            .map_err(|e| err(path, e))?
            .set_secondary_coord(a0..a1, 0.0..1.0);
        chart
            .configure_mesh()
            .x_desc("α")
            .y_desc("loss (solid)")
            .y_label_formatter(&tick)
            .draw()
            .map_err(|e| err(path, e))?;
        chart.configure_secondary_axes().y_desc("accuracy (dashed)").draw().map_err(|e| err(path, e))?;
        let loss = drawable_runs(rows.iter().map(|r| (r.0, r.1)));
        chart
            .draw_series(loss.into_iter().map(|r| PathElement::new(r, PALETTE[0].stroke_width(2))))
            .map_err(|e| err(path, e))?;
        let acc: Vec<(f64, f64)> = rows.iter().map(|r| (r.0, r.2)).filter(|p| drawable(p.1)).collect();
        let dashes = acc.windows(2).flat_map(|w| {
            let (a, b) = (w[0], w[1]);
            (0..4).step_by(2).map(move |j| {
                let at = |t: f64| (a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1));
                PathElement::new(vec![at(j as f64 / 4.0), at((j + 1) as f64 / 4.0)], PALETTE[1].stroke_width(2))
            })
        });
        chart.draw_secondary_series(dashes).map_err(|e| err(path, e))?;
        Ok(())
    })
}

/// The loss over a plane θ + α·d₁ + β·d₂ as filled contours with isolines
/// (log-spaced levels when the loss spans more than a decade), the trained
/// point marked, and a run's `trajectory` on the plane drawn over it (its
/// start circled; empty for none). `loss[j][i]` is the loss at
/// (`alphas[i]`, `betas[j]`).
///
/// # Errors
/// [`GradusError::Plot`] if the file cannot be written, or the grid is not
/// `betas.len()` rows of `alphas.len()` values.
pub fn landscape_plane(
    path: &Path,
    title: &str,
    (alphas, betas): (&[f64], &[f64]),
    loss: &[Vec<f64>],
    trajectory: &[(f64, f64)],
) -> Result<(), GradusError> {
    if loss.len() != betas.len() || loss.iter().any(|r| r.len() != alphas.len()) || alphas.len() < 2 || betas.len() < 2
    {
        return Err(err(path, "the loss grid does not match its axes"));
    }
    let (a0, a1, b0, b1) = (alphas[0], alphas[alphas.len() - 1], betas[0], betas[betas.len() - 1]);
    let levels = super::contours::levels(loss.iter().flatten().copied(), 14);
    svg(path, (640, 600), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 16))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(48)
            .build_cartesian_2d(a0..a1, b0..b1)
            .map_err(|e| err(path, e))?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc("α (direction 1)")
            .y_desc("β (direction 2)")
            .draw()
            .map_err(|e| err(path, e))?;
        super::contours::draw(&mut chart, path, alphas, betas, loss, &levels)?;
        if !trajectory.is_empty() {
            // The run's path, its start circled.
            let red = RGBColor(200, 30, 30);
            chart
                .draw_series(LineSeries::new(trajectory.iter().copied(), red.stroke_width(2)))
                .map_err(|e| err(path, e))?;
            chart.draw_series(trajectory.iter().map(|&p| Circle::new(p, 2, red.filled()))).map_err(|e| err(path, e))?;
            chart.draw_series([Circle::new(trajectory[0], 6, red.stroke_width(2))]).map_err(|e| err(path, e))?;
        }
        chart.draw_series([Cross::new((0.0, 0.0), 7, BLACK.stroke_width(2))]).map_err(|e| err(path, e))?;
        Ok(())
    })
}

/// The learning-rate range test: the smoothed loss against the rate on a
/// log axis (the raw loss faint behind it), the suggestions marked.
/// `rows` holds (lr, loss, smoothed loss); `marks` (name, lr).
///
/// # Errors
/// [`GradusError::Plot`] if the file cannot be written.
pub fn lr_find(path: &Path, rows: &[(f64, f64, f64)], marks: &[(String, f64)]) -> Result<(), GradusError> {
    let lrs: Vec<f64> = rows.iter().map(|r| r.0).filter(|l| *l > 0.0 && drawable(*l)).collect();
    let (l0, l1) = (lrs.iter().copied().fold(f64::INFINITY, f64::min), lrs.iter().copied().fold(0.0f64, f64::max));
    let (l0, l1) = if l0 < l1 { (l0, l1) } else { (1e-7, 10.0) };
    // The loss axis spans the smoothed curve up to 4× its best (where the
    // test stops), so a final blow-up does not flatten the rest.
    let best = rows.iter().map(|r| r.2).filter(|v| drawable(*v)).fold(f64::INFINITY, f64::min);
    let ((lo, hi), _) = range(rows.iter().map(|r| r.2).filter(|v| *v <= 4.0 * best.abs().max(1e-12)));
    svg(path, (760, 440), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption("learning-rate range test", ("sans-serif", 16))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d((l0..l1).log_scale(), lo..hi)
            .map_err(|e| err(path, e))?;
        chart
            .configure_mesh()
            .x_desc("learning rate (log scale)")
            .y_desc("training loss")
            .x_label_formatter(&|v| format!("{v:.0e}"))
            .y_label_formatter(&tick)
            .draw()
            .map_err(|e| err(path, e))?;
        let clip = |v: f64| if v >= lo && v <= hi { v } else { f64::NAN };
        let raw = drawable_runs(rows.iter().map(|r| (r.0, clip(r.1))));
        chart
            .draw_series(raw.into_iter().map(|r| PathElement::new(r, PALETTE[0].mix(0.3))))
            .map_err(|e| err(path, e))?
            .label("loss")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], PALETTE[0].mix(0.3)));
        let smooth = drawable_runs(rows.iter().map(|r| (r.0, clip(r.2))));
        chart
            .draw_series(smooth.into_iter().map(|r| PathElement::new(r, PALETTE[0].stroke_width(2))))
            .map_err(|e| err(path, e))?
            .label("smoothed (β = 0.98)")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], PALETTE[0].stroke_width(2)));
        for (i, (name, lr)) in marks.iter().enumerate() {
            let c = PALETTE[(i + 2) % PALETTE.len()];
            // The mark sits on the smoothed curve at the row nearest its rate.
            let near = rows.iter().min_by(|a, b| (a.0 / lr).ln().abs().total_cmp(&(b.0 / lr).ln().abs()));
            let Some(&(_, _, y)) = near else { continue };
            if !(drawable(y) && y >= lo && y <= hi) {
                continue;
            }
            chart
                .draw_series([Circle::new((*lr, y), 6, c.filled())])
                .map_err(|e| err(path, e))?
                .label(format!("{name}: {lr:.2e}"))
                .legend(move |(x, y)| Circle::new((x + 9, y), 5, c.filled()));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .border_style(BLACK)
            .background_style(WHITE.mix(0.85))
            .draw()
            .map_err(|e| err(path, e))
    })
}

/// Decision regions of 2-D binary classifiers, one panel per model: the
/// isolines of the class-1 probability (thick at ½, the decision
/// boundary) over the training points coloured by class. `runs` holds
/// (title, probability grid: row j at y_j, on an even grid over `window`
/// in both axes); `points` holds (x, y, class).
///
/// # Errors
/// [`GradusError::Plot`] if the file cannot be written or a grid is ragged.
pub fn decision_regions(
    path: &Path,
    title: &str,
    (lo, hi): (f64, f64),
    runs: &[(String, Vec<Vec<f64>>)],
    points: &[(f64, f64, usize)],
) -> Result<(), GradusError> {
    let cols = runs.len().clamp(1, 3);
    let rows = runs.len().div_ceil(cols).max(1);
    svg(path, (330 * cols as u32, 330 * rows as u32 + 30), |root| {
        let root = root.titled(title, ("sans-serif", 16)).map_err(|e| err(path, e))?;
        for (cell, (name, grid)) in root.split_evenly((rows, cols)).iter().zip(runs) {
            let n = grid.len();
            let axis: Vec<f64> = (0..n).map(|k| lo + (hi - lo) * k as f64 / (n.max(2) - 1) as f64).collect();
            let mut chart = ChartBuilder::on(cell)
                .caption(name, ("sans-serif", 13))
                .margin(6)
                .build_cartesian_2d(lo..hi, lo..hi)
                .map_err(|e| err(path, e))?;
            chart.configure_mesh().disable_mesh().disable_axes().draw().map_err(|e| err(path, e))?;
            // At most 500 points a panel: enough to show the classes (an
            // odd stride, so that alternating classes are both kept).
            let every = points.len().div_ceil(500).max(1) | 1;
            let dots = points.iter().step_by(every).filter(|p| p.0 >= lo && p.0 <= hi && p.1 >= lo && p.1 <= hi);
            chart
                .draw_series(dots.map(|&(x, y, c)| Circle::new((x, y), 2, PALETTE[c % 2].mix(0.5).filled())))
                .map_err(|e| err(path, e))?;
            super::contours::isolines(&mut chart, path, &axis, &axis, grid, &[0.1, 0.3, 0.7, 0.9], 1)?;
            super::contours::isolines_in(&mut chart, path, &axis, &axis, grid, &[0.5], BLACK.stroke_width(3))?;
        }
        Ok(())
    })
}
