//! SVG plots with plotters: learning curves (several runs overlaid),
//! optimiser paths over a contour map of a 2-D function, and schedules.

use crate::GradusError;
use crate::trainer::EpochMetrics;
use plotters::prelude::*;
use std::path::Path;

const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

fn err(path: &Path, e: impl std::fmt::Display) -> GradusError {
    GradusError::Plot { path: path.display().to_string(), reason: e.to_string() }
}

fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) =
        values.filter(|v| v.is_finite()).fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| (l.min(v), h.max(v)));
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.05).max(1e-12);
    (lo - pad, hi + pad)
}

type Metric = fn(&EpochMetrics) -> f64;

/// One panel of learning curves: `solid` per run as a line, `dashed` (if
/// any) as a dashed line with points, one colour per run.
fn panel(
    area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    path: &Path,
    (title, y_desc): (&str, &str),
    runs: &[(String, Vec<EpochMetrics>)],
    solid: Metric,
    dashed: Option<Metric>,
) -> Result<(), GradusError> {
    let epochs = runs.iter().map(|(_, m)| m.len()).max().unwrap_or(1).max(2) as f64;
    let (lo, hi) =
        range(runs.iter().flat_map(|(_, m)| m.iter().flat_map(|e| [Some(solid(e)), dashed.map(|d| d(e))]).flatten()));
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 16))
        .margin(12)
        .x_label_area_size(32)
        .y_label_area_size(50)
        .build_cartesian_2d(1.0..epochs, lo..hi)
        .map_err(|e| err(path, e))?;
    chart.configure_mesh().x_desc("epoch").y_desc(y_desc).draw().map_err(|e| err(path, e))?;
    for (i, (name, m)) in runs.iter().enumerate() {
        let c = PALETTE[i % PALETTE.len()];
        chart
            .draw_series(LineSeries::new(m.iter().map(|e| (e.epoch as f64, solid(e))), c.stroke_width(2)))
            .map_err(|e| err(path, e))?
            .label(name.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
        if let Some(d) = dashed {
            let pts = m.iter().map(|e| (e.epoch as f64, d(e))).collect::<Vec<_>>();
            // Each segment between epochs as dashes: the odd sixths of it are
            // gaps (skipping whole segments instead read as missing data).
            let lerp = |(x0, y0): (f64, f64), (x1, y1): (f64, f64), t: f64| (x0 + t * (x1 - x0), y0 + t * (y1 - y0));
            let dashes = pts.windows(2).flat_map(|w| {
                let (a, b) = (w[0], w[1]);
                (0..6).step_by(2).map(move |j| {
                    PathElement::new(vec![lerp(a, b, j as f64 / 6.0), lerp(a, b, (j + 1) as f64 / 6.0)], c)
                })
            });
            chart.draw_series(dashes).map_err(|e| err(path, e))?;
            chart.draw_series(pts.iter().map(|&p| Circle::new(p, 2, c.filled()))).map_err(|e| err(path, e))?;
        }
    }
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE.mix(0.8))
        .draw()
        .map_err(|e| err(path, e))
}

/// Learning curves of several runs: training loss (monitoring subset) and
/// test loss on the left, test accuracy on the right, one colour per run.
///
/// # Errors
/// [`GradusError::Plot`] if the file cannot be written.
pub fn learning_curves(path: &Path, runs: &[(String, Vec<EpochMetrics>)]) -> Result<(), GradusError> {
    let root = SVGBackend::new(path, (1100, 450)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(path, e))?;
    let (left, right) = root.split_horizontally(550);
    let loss = ("loss (solid: training subset, dashed: test)", "loss");
    panel(&left, path, loss, runs, |e| e.train_loss, Some(|e| e.test_loss))?;
    panel(&right, path, ("test accuracy", "accuracy"), runs, |e| e.test_accuracy, None)?;
    root.present().map_err(|e| err(path, e))
}

/// Optimiser paths over a contour map of `f` on `[x0, x1] × [y0, y1]`
/// (shaded by log(1 + f − min), darker is lower), one colour per path.
///
/// # Errors
/// [`GradusError::Plot`] if the file cannot be written.
pub fn paths(
    path: &Path,
    title: &str,
    f: impl Fn(f64, f64) -> f64,
    (x0, x1): (f64, f64),
    (y0, y1): (f64, f64),
    runs: &[(String, Vec<(f64, f64)>)],
) -> Result<(), GradusError> {
    let root = SVGBackend::new(path, (720, 600)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(path, e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(32)
        .y_label_area_size(44)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(|e| err(path, e))?;
    chart.configure_mesh().disable_mesh().x_desc("x").y_desc("y").draw().map_err(|e| err(path, e))?;
    const N: usize = 80;
    let (dx, dy) = ((x1 - x0) / N as f64, (y1 - y0) / N as f64);
    let grid: Vec<(f64, f64, f64)> = (0..N * N)
        .map(|k| {
            let (x, y) = (x0 + (k % N) as f64 * dx, y0 + (k / N) as f64 * dy);
            (x, y, f(x + dx / 2.0, y + dy / 2.0))
        })
        .collect();
    let lo = grid.iter().map(|g| g.2).fold(f64::INFINITY, f64::min);
    let shade: Vec<f64> = grid.iter().map(|g| (1.0 + g.2 - lo).ln()).collect();
    let hi = shade.iter().copied().fold(f64::NEG_INFINITY, f64::max).max(1e-12);
    chart
        .draw_series(grid.iter().zip(&shade).map(|(&(x, y, _), &s)| {
            let v = (255.0 * (0.35 + 0.65 * s / hi)).min(255.0) as u8;
            Rectangle::new([(x, y), (x + dx, y + dy)], RGBColor(v, v, v.saturating_add(30)).filled())
        }))
        .map_err(|e| err(path, e))?;
    for (i, (name, pts)) in runs.iter().enumerate() {
        let c = PALETTE[(i + 1) % PALETTE.len()];
        let inside: Vec<(f64, f64)> = pts.iter().copied().filter(|p| p.0.is_finite() && p.1.is_finite()).collect();
        chart
            .draw_series(LineSeries::new(inside.iter().copied(), c.stroke_width(2)))
            .map_err(|e| err(path, e))?
            .label(name.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
        chart.draw_series(inside.iter().map(|&p| Circle::new(p, 2, c.filled()))).map_err(|e| err(path, e))?;
    }
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE.mix(0.85))
        .draw()
        .map_err(|e| err(path, e))?;
    root.present().map_err(|e| err(path, e))
}

/// A schedule: the rate (and momentum, when cycled) against the step.
///
/// # Errors
/// [`GradusError::Plot`] if the file cannot be written.
pub fn schedule(path: &Path, title: &str, lrs: &[f64], momenta: Option<&[f64]>) -> Result<(), GradusError> {
    let root = SVGBackend::new(path, (720, 400)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(path, e))?;
    let (lo, hi) = range(lrs.iter().copied());
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 16))
        .margin(12)
        .x_label_area_size(32)
        .y_label_area_size(60)
        .right_y_label_area_size(if momenta.is_some() { 50 } else { 0 })
        .build_cartesian_2d(0.0..lrs.len().max(2) as f64, lo..hi)
        .map_err(|e| err(path, e))?
        .set_secondary_coord(0.0..lrs.len().max(2) as f64, {
            let (a, b) = range(momenta.unwrap_or(&[0.0, 1.0]).iter().copied());
            a..b
        });
    chart.configure_mesh().x_desc("step").y_desc("learning rate").draw().map_err(|e| err(path, e))?;
    chart
        .draw_series(LineSeries::new(lrs.iter().enumerate().map(|(t, &v)| (t as f64, v)), PALETTE[0].stroke_width(2)))
        .map_err(|e| err(path, e))?;
    if let Some(m) = momenta {
        chart.configure_secondary_axes().y_desc("momentum").draw().map_err(|e| err(path, e))?;
        chart
            .draw_secondary_series(LineSeries::new(
                m.iter().enumerate().map(|(t, &v)| (t as f64, v)),
                PALETTE[1].stroke_width(2),
            ))
            .map_err(|e| err(path, e))?;
    }
    root.present().map_err(|e| err(path, e))
}
