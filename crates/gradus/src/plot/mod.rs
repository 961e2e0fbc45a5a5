//! SVG plots with plotters: learning curves (several runs overlaid),
//! optimiser paths over a contour map of a 2-D function, and schedules;
//! the figures of a network's curvature, landscape and learning-rate range
//! test in the files beside this one.

mod contours;
mod lab;
pub use contours::levels as contour_levels;
pub use lab::{decision_regions, landscape_line, landscape_plane, lr_find, sharpness, spectrum};

use crate::GradusError;
use crate::metrics::EpochMetrics;
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

/// Values beyond ±`LIMIT` (and non-finite ones) are left out of a plot:
/// an axis spanning them has no useful ticks, and a span that overflows to
/// infinity would never finish its tick loop.
pub const LIMIT: f64 = 1e100;

/// Whether `v` is drawn.
fn drawable(v: f64) -> bool {
    v.is_finite() && v.abs() <= LIMIT
}

/// The axis range of the drawable `values`, padded by 5%, and how many
/// values were left out.
fn range(values: impl Iterator<Item = f64>) -> ((f64, f64), usize) {
    let (mut lo, mut hi, mut left_out) = (f64::INFINITY, f64::NEG_INFINITY, 0);
    for v in values {
        if drawable(v) {
            (lo, hi) = (lo.min(v), hi.max(v));
        } else {
            left_out += 1;
        }
    }
    if lo > hi {
        return ((0.0, 1.0), left_out);
    }
    let pad = ((hi - lo) * 0.05).max(1e-12 * hi.abs().max(lo.abs())).max(1e-12);
    ((lo - pad, hi + pad), left_out)
}

/// ` (n values left out: non-finite or beyond ±1e100)`, or nothing.
fn left_out_note(n: usize) -> String {
    if n == 0 { String::new() } else { format!(" ({n} values left out: non-finite or beyond ±{LIMIT:e})") }
}

/// Splits `points` into the runs of drawable points between left-out ones,
/// so a line is broken where a value is missing, never drawn to it.
fn drawable_runs(points: impl Iterator<Item = (f64, f64)>) -> Vec<Vec<(f64, f64)>> {
    let mut runs = vec![Vec::new()];
    for p in points {
        if drawable(p.0) && drawable(p.1) {
            runs.last_mut().expect("never empty").push(p);
        } else if !runs.last().expect("never empty").is_empty() {
            runs.push(Vec::new());
        }
    }
    runs.retain(|r| !r.is_empty());
    runs
}

/// An axis label: plain for ordinary sizes, scientific for very large or
/// very small ones (which would not fit the label area).
fn tick(v: &f64) -> String {
    let a = v.abs();
    if a == 0.0 || (1e-3..1e5).contains(&a) { format!("{}", (v * 1e4).round() / 1e4) } else { format!("{v:.2e}") }
}

type Area<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;

/// Draws an SVG of `size` with `draw`, then writes it to `path` atomically
/// (a failed or interrupted write never leaves a truncated figure).
fn svg(
    path: &Path,
    size: (u32, u32),
    draw: impl FnOnce(&Area<'_>) -> Result<(), GradusError>,
) -> Result<(), GradusError> {
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(path, e))?;
        draw(&root)?;
        root.present().map_err(|e| err(path, e))?;
    }
    gradus_nn::write_atomic(path, text.as_bytes()).map_err(|e| err(path, e))
}

/// Learning curves of several runs, one colour per run: on the left the
/// training loss of every step (the mini-batch losses smoothed by a
/// debiased moving average, β = 0.98, as training-curve figures draw them)
/// against the epoch, with the test loss after each epoch as dots (on a log
/// scale when the losses span more than a decade); on the right the test
/// accuracy after each epoch; the legend below the panels. The losses of
/// text models ([`EpochMetrics::bits_per_byte`]) are drawn in bits per byte. Epochs read
/// back from a CSV have no step losses and show their per-epoch points.
///
/// # Errors
/// [`GradusError::Plot`] if the file cannot be written.
pub fn learning_curves(path: &Path, runs: &[(String, Vec<EpochMetrics>)]) -> Result<(), GradusError> {
    // Text models' losses in bits per byte.
    let converted: Vec<(String, Vec<EpochMetrics>)>;
    let runs = if bits(runs) {
        let per_bit = 1.0 / std::f64::consts::LN_2;
        let scaled = |e: &EpochMetrics| EpochMetrics {
            train_loss: e.train_bpb(),
            test_loss: e.test_bpb(),
            step_losses: e.step_losses.iter().map(|l| l * per_bit).collect(),
            ..e.clone()
        };
        converted = runs.iter().map(|(n, m)| (n.clone(), m.iter().map(scaled).collect())).collect();
        &converted[..]
    } else {
        runs
    };
    let legend_rows = runs.len().div_ceil(2) as u32;
    svg(path, (1100, 430 + 22 * legend_rows), |root| {
        let (top, legend) = root.split_vertically(430);
        let (left, right) = top.split_horizontally(550);
        loss_panel(&left, path, runs)?;
        accuracy_panel(&right, path, runs)?;
        for (i, (name, _)) in runs.iter().enumerate() {
            let c = PALETTE[i % PALETTE.len()];
            let (x, y) = (60 + 520 * (i % 2) as i32, 6 + 22 * (i / 2) as i32);
            legend
                .draw(&PathElement::new(vec![(x, y + 8), (x + 24, y + 8)], c.stroke_width(3)))
                .map_err(|e| err(path, e))?;
            legend.draw(&Text::new(name.clone(), (x + 32, y), ("sans-serif", 13))).map_err(|e| err(path, e))?;
        }
        Ok(())
    })
}

/// Whether the runs' losses are drawn in bits per byte.
fn bits(runs: &[(String, Vec<EpochMetrics>)]) -> bool {
    !runs.is_empty() && runs.iter().all(|(_, m)| m.iter().all(|e| e.bits_per_byte))
}

/// The per-step smoothed training losses of a run, at fractional epochs:
/// step k of epoch e (from 1) of n steps is at e − 1 + (k + 1)/n.
fn smoothed_steps(m: &[EpochMetrics]) -> Vec<(f64, f64)> {
    let (mut average, mut count, mut out) = (0.0f64, 0i32, Vec::new());
    for e in m {
        let n = e.step_losses.len();
        for (k, &l) in e.step_losses.iter().enumerate() {
            if !l.is_finite() {
                continue;
            }
            count += 1;
            average = 0.98 * average + 0.02 * l;
            out.push((e.epoch as f64 - 1.0 + (k + 1) as f64 / n as f64, average / (1.0 - 0.98f64.powi(count))));
        }
    }
    out
}

/// Epoch ticks: whole numbers only.
fn epoch_tick(v: &f64) -> String {
    if (v - v.round()).abs() < 1e-9 { format!("{}", v.round()) } else { String::new() }
}

fn loss_panel(area: &Area<'_>, path: &Path, runs: &[(String, Vec<EpochMetrics>)]) -> Result<(), GradusError> {
    let epochs = runs.iter().map(|(_, m)| m.len()).max().unwrap_or(1).max(1) as f64;
    let steps: Vec<Vec<(f64, f64)>> = runs.iter().map(|(_, m)| smoothed_steps(m)).collect();
    let values = steps
        .iter()
        .flatten()
        .map(|p| p.1)
        .chain(runs.iter().flat_map(|(_, m)| m.iter().flat_map(|e| [e.test_loss, e.train_loss])));
    let positive: Vec<f64> = values.filter(|v| drawable(*v) && *v > 0.0).collect();
    let (lo, hi) =
        (positive.iter().copied().fold(f64::INFINITY, f64::min), positive.iter().copied().fold(0.0f64, f64::max));
    let log = lo < hi && hi > 10.0 * lo;
    // The per-epoch losses that cannot be drawn are counted in the caption
    // (on a log scale, those at or below 0 too); smoothed step losses
    // that cannot be drawn break their line.
    let per_epoch = runs.iter().flat_map(|(_, m)| m.iter().flat_map(|e| [e.test_loss, e.train_loss]));
    let left_out = per_epoch.filter(|v| !drawable(*v) || (log && *v <= 0.0)).count();
    let caption = format!("training loss per step (smoothed), test loss per epoch (dots){}", left_out_note(left_out));
    let mut builder = ChartBuilder::on(area);
    builder.caption(caption, ("sans-serif", 14)).margin(12).x_label_area_size(32).y_label_area_size(56);
    let x0 = if steps.iter().any(|s| !s.is_empty()) { 0.0 } else { 1.0 };
    if log {
        let mut chart = builder
            .build_cartesian_2d(x0..epochs.max(x0 + 1.0), (lo / 1.2..hi * 1.2).log_scale())
            .map_err(|e| err(path, e))?;
        chart
            .configure_mesh()
            .x_desc("epoch")
            .y_desc(if bits(runs) { "bits per byte (log scale)" } else { "loss (log scale)" })
            .x_label_formatter(&epoch_tick)
            .y_label_formatter(&tick)
            .draw()
            .map_err(|e| err(path, e))?;
        loss_series(&mut chart, path, runs, &steps)
    } else {
        let ((a, b), _) = range(positive.iter().copied());
        let mut chart = builder.build_cartesian_2d(x0..epochs.max(x0 + 1.0), a..b).map_err(|e| err(path, e))?;
        chart
            .configure_mesh()
            .x_desc("epoch")
            .y_desc(if bits(runs) { "bits per byte" } else { "loss" })
            .x_label_formatter(&epoch_tick)
            .y_label_formatter(&tick)
            .draw()
            .map_err(|e| err(path, e))?;
        loss_series(&mut chart, path, runs, &steps)
    }
}

fn loss_series<'a, 'b: 'a, Y>(
    chart: &mut ChartContext<'a, SVGBackend<'b>, Cartesian2d<plotters::coord::types::RangedCoordf64, Y>>,
    path: &Path,
    runs: &[(String, Vec<EpochMetrics>)],
    steps: &[Vec<(f64, f64)>],
) -> Result<(), GradusError>
where
    Y: Ranged<ValueType = f64>,
{
    for (i, ((_, m), s)) in runs.iter().zip(steps).enumerate() {
        let c = PALETTE[i % PALETTE.len()];
        if s.is_empty() {
            // No step losses (epochs read back): the per-epoch training loss.
            let pts = drawable_runs(m.iter().map(|e| (e.epoch as f64, e.train_loss)));
            chart
                .draw_series(pts.into_iter().map(|r| PathElement::new(r, c.stroke_width(2))))
                .map_err(|e| err(path, e))?;
        } else {
            let pts = drawable_runs(s.iter().copied());
            chart
                .draw_series(pts.into_iter().map(|r| PathElement::new(r, c.stroke_width(2))))
                .map_err(|e| err(path, e))?;
        }
        let test: Vec<(f64, f64)> =
            m.iter().map(|e| (e.epoch as f64, e.test_loss)).filter(|p| drawable(p.1) && p.1 > 0.0).collect();
        chart.draw_series(test.iter().map(|&p| Circle::new(p, 4, c.filled()))).map_err(|e| err(path, e))?;
    }
    Ok(())
}

fn accuracy_panel(area: &Area<'_>, path: &Path, runs: &[(String, Vec<EpochMetrics>)]) -> Result<(), GradusError> {
    let epochs = runs.iter().map(|(_, m)| m.len()).max().unwrap_or(1).max(2) as f64;
    let ((lo, hi), left_out) = range(runs.iter().flat_map(|(_, m)| m.iter().map(|e| e.test_accuracy)));
    let mut chart = ChartBuilder::on(area)
        .caption(format!("test accuracy per epoch{}", left_out_note(left_out)), ("sans-serif", 15))
        .margin(12)
        .x_label_area_size(32)
        .y_label_area_size(56)
        .build_cartesian_2d(0.8..epochs + 0.2, lo..hi)
        .map_err(|e| err(path, e))?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc("accuracy")
        .x_label_formatter(&epoch_tick)
        .y_label_formatter(&tick)
        .draw()
        .map_err(|e| err(path, e))?;
    for (i, (_, m)) in runs.iter().enumerate() {
        let c = PALETTE[i % PALETTE.len()];
        let lines = drawable_runs(m.iter().map(|e| (e.epoch as f64, e.test_accuracy)));
        chart
            .draw_series(lines.iter().map(|r| PathElement::new(r.clone(), c.stroke_width(2))))
            .map_err(|e| err(path, e))?;
        chart.draw_series(lines.iter().flatten().map(|&p| Circle::new(p, 3, c.filled()))).map_err(|e| err(path, e))?;
    }
    Ok(())
}

/// Optimiser paths over the isolines of `f` on `[x0, x1] × [y0, y1]`
/// (log-spaced levels where `f` spans decades, as Rosenbrock does), each
/// path's start marked ○ and `minima` marked ×. With several paths the
/// figure has the overlay on the left and one small panel per path on the
/// right, so that no path hides another.
///
/// # Errors
/// [`GradusError::Plot`] if the file cannot be written or the window is
/// empty.
pub fn paths(
    path: &Path,
    title: &str,
    f: impl Fn(f64, f64) -> f64,
    x_range: (f64, f64),
    y_range: (f64, f64),
    minima: &[(f64, f64)],
    runs: &[(String, Vec<(f64, f64)>)],
) -> Result<(), GradusError> {
    paths_with(path, title, f, (x_range, y_range), minima, runs, &[])
}

/// Points a method keeps or visits besides its iterates, drawn faintly
/// beside one run of [`paths_with`]: each segment from an iterate to such
/// a point (SAM's θ + e where its second gradient is taken, Lookahead's
/// slow weights, a schedule-free method's evaluation weights).
#[derive(Clone, Debug, PartialEq)]
pub struct Shadow {
    /// What the points are, for the legend.
    pub label: String,
    /// (iterate, point) pairs.
    pub segments: Vec<((f64, f64), (f64, f64))>,
}

/// [`paths`] on the window (x range, y range) with `shadows[k]` drawn
/// faintly beside run k (fewer shadows than runs: the others have none).
///
/// # Errors
/// As [`paths`].
pub fn paths_with(
    path: &Path,
    title: &str,
    f: impl Fn(f64, f64) -> f64,
    ((x0, x1), (y0, y1)): ((f64, f64), (f64, f64)),
    minima: &[(f64, f64)],
    runs: &[(String, Vec<(f64, f64)>)],
    shadows: &[Option<Shadow>],
) -> Result<(), GradusError> {
    if ![x0, x1, y0, y1].into_iter().all(drawable) || x0 >= x1 || y0 >= y1 {
        return Err(err(path, format!("the window [{x0}, {x1}] × [{y0}, {y1}] is empty or not finite")));
    }
    const N: usize = 90;
    let xs: Vec<f64> = (0..N).map(|i| x0 + (x1 - x0) * i as f64 / (N - 1) as f64).collect();
    let ys: Vec<f64> = (0..N).map(|j| y0 + (y1 - y0) * j as f64 / (N - 1) as f64).collect();
    let values: Vec<Vec<f64>> = ys.iter().map(|&y| xs.iter().map(|&x| f(x, y)).collect()).collect();
    let levels = contours::levels(values.iter().flatten().copied(), 14);
    let panels = if runs.len() > 1 { runs.len() } else { 0 };
    let cols = if panels > 4 { 3 } else { panels.min(2) };
    let rows = panels.div_ceil(cols.max(1));
    let side = if panels > 0 { 230 * cols as u32 } else { 0 };
    svg(path, (720 + side, 620), |root| {
        let (main, rest) = root.split_horizontally(720);
        let main = main.titled(title, ("sans-serif", 18)).map_err(|e| err(path, e))?;
        let colours: Vec<RGBColor> = (0..runs.len()).map(|i| PALETTE[(i + 3) % PALETTE.len()]).collect();
        let grid = (&xs[..], &ys[..], &values[..], &levels[..]);
        path_panel(&main, path, grid, minima, (runs, shadows), &colours, true)?;
        if panels > 0 {
            let cells = rest.margin(30, 10, 4, 4).split_evenly((rows, cols));
            for (k, cell) in cells.iter().enumerate().take(panels) {
                let one = std::slice::from_ref(&runs[k]);
                let shadow = shadows.get(k).map(std::slice::from_ref).unwrap_or_default();
                path_panel(cell, path, grid, minima, (one, shadow), &colours[k..=k], false)?;
            }
        }
        Ok(())
    })
}

type Grid<'g> = (&'g [f64], &'g [f64], &'g [Vec<f64>], &'g [f64]);

/// Named paths and the shadows beside them.
type Runs<'r> = (&'r [(String, Vec<(f64, f64)>)], &'r [Option<Shadow>]);

/// One panel of [`paths`]: isolines, the paths, starts and minima; the
/// large panel has axis labels and the legend, a small one its path's name.
fn path_panel(
    area: &Area<'_>,
    path: &Path,
    (xs, ys, values, levels): Grid<'_>,
    minima: &[(f64, f64)],
    (runs, shadows): Runs<'_>,
    colours: &[RGBColor],
    large: bool,
) -> Result<(), GradusError> {
    let (x0, x1, y0, y1) = (xs[0], xs[xs.len() - 1], ys[0], ys[ys.len() - 1]);
    let mut builder = ChartBuilder::on(area);
    builder.margin(if large { 12 } else { 4 }).x_label_area_size(if large { 32 } else { 0 });
    builder.y_label_area_size(if large { 44 } else { 0 });
    if !large {
        builder.caption(&runs[0].0, ("sans-serif", 11));
    }
    let mut chart = builder.build_cartesian_2d(x0..x1, y0..y1).map_err(|e| err(path, e))?;
    if large {
        chart.configure_mesh().disable_mesh().x_desc("x").y_desc("y").draw().map_err(|e| err(path, e))?;
    } else {
        chart.configure_mesh().disable_mesh().disable_axes().draw().map_err(|e| err(path, e))?;
    }
    contours::isolines(&mut chart, path, xs, ys, values, levels, 1)?;
    let inside = |p: &(f64, f64)| p.0 >= x0 && p.0 <= x1 && p.1 >= y0 && p.1 <= y1;
    for (shadow, &c) in shadows.iter().zip(colours) {
        let Some(shadow) = shadow else { continue };
        let faint = c.mix(0.45);
        let kept: Vec<_> = shadow.segments.iter().filter(|(a, b)| inside(a) && inside(b)).collect();
        chart
            .draw_series(kept.iter().map(|(a, b)| PathElement::new(vec![*a, *b], faint.stroke_width(1))))
            .map_err(|e| err(path, e))?;
        let series = chart
            .draw_series(kept.iter().map(|(_, b)| Circle::new(*b, 3, faint.stroke_width(1))))
            .map_err(|e| err(path, e))?;
        if large {
            series.label(shadow.label.clone()).legend(move |(x, y)| Circle::new((x + 9, y), 3, faint.stroke_width(1)));
        }
    }
    for ((name, pts), &c) in runs.iter().zip(colours) {
        // Iterates outside the window are left out (the path breaks there),
        // and the legend says how many.
        let lines = drawable_runs(pts.iter().map(|&p| if inside(&p) { p } else { (f64::NAN, f64::NAN) }));
        let outside = pts.iter().filter(|p| !inside(p)).count();
        let label = if outside == 0 { name.clone() } else { format!("{name} ({outside} iterates outside the window)") };
        let series = chart
            .draw_series(lines.iter().map(|r| PathElement::new(r.clone(), c.stroke_width(2))))
            .map_err(|e| err(path, e))?;
        if large {
            series.label(label).legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
        }
        // Iterates as dots where they are few enough to tell apart.
        if large && pts.len() <= 400 {
            chart
                .draw_series(lines.iter().flatten().map(|&p| Circle::new(p, 2, c.filled())))
                .map_err(|e| err(path, e))?;
        }
    }
    let starts: Vec<(f64, f64)> = runs.iter().filter_map(|(_, p)| p.first().copied()).filter(inside).collect();
    chart.draw_series(starts.iter().map(|&p| Circle::new(p, 6, BLACK.stroke_width(2)))).map_err(|e| err(path, e))?;
    let shown: Vec<(f64, f64)> = minima.iter().copied().filter(inside).collect();
    chart.draw_series(shown.iter().map(|&p| Cross::new(p, 7, BLACK.stroke_width(3)))).map_err(|e| err(path, e))?;
    if large {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .border_style(BLACK)
            .background_style(WHITE.mix(0.85))
            .draw()
            .map_err(|e| err(path, e))?;
    }
    Ok(())
}

/// Iterates on a curve y = f(x) over `[x0, x1]`: the curve, and each run's
/// iterates at (x, f(x)) joined in order, the start marked ○.
///
/// # Errors
/// [`GradusError::Plot`] if the file cannot be written or the window is
/// empty.
pub fn curve(
    path: &Path,
    title: &str,
    f: impl Fn(f64) -> f64,
    (x0, x1): (f64, f64),
    runs: &[(String, Vec<(f64, f64)>)],
) -> Result<(), GradusError> {
    if !(drawable(x0) && drawable(x1)) || x0 >= x1 {
        return Err(err(path, format!("the window [{x0}, {x1}] is empty or not finite")));
    }
    let samples: Vec<(f64, f64)> = (0..=400).map(|i| x0 + (x1 - x0) * i as f64 / 400.0).map(|x| (x, f(x))).collect();
    let inside = |p: &(f64, f64)| p.0 >= x0 && p.0 <= x1;
    let ((lo, hi), _) = range(
        samples.iter().map(|p| p.1).chain(runs.iter().flat_map(|(_, r)| r.iter().filter(|p| inside(p)).map(|p| p.1))),
    );
    svg(path, (720, 480), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(32)
            .y_label_area_size(56)
            .build_cartesian_2d(x0..x1, lo..hi)
            .map_err(|e| err(path, e))?;
        chart.configure_mesh().x_desc("x").y_desc("f(x)").y_label_formatter(&tick).draw().map_err(|e| err(path, e))?;
        chart
            .draw_series(drawable_runs(samples.into_iter()).into_iter().map(|r| PathElement::new(r, BLACK.mix(0.6))))
            .map_err(|e| err(path, e))?;
        for (i, (name, pts)) in runs.iter().enumerate() {
            let c = PALETTE[(i + 3) % PALETTE.len()];
            let shown = |p: &(f64, f64)| inside(p) && p.1 >= lo && p.1 <= hi;
            let clip = |p: &(f64, f64)| if shown(p) { *p } else { (f64::NAN, f64::NAN) };
            let lines = drawable_runs(pts.iter().map(clip));
            // Iterates off the figure break the path, and the legend says how many.
            let outside = pts.iter().filter(|p| !shown(p)).count();
            let label =
                if outside == 0 { name.clone() } else { format!("{name} ({outside} iterates outside the window)") };
            chart
                .draw_series(lines.iter().map(|r| PathElement::new(r.clone(), c.stroke_width(2))))
                .map_err(|e| err(path, e))?
                .label(label)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
            chart
                .draw_series(lines.iter().flatten().map(|&p| Circle::new(p, 3, c.filled())))
                .map_err(|e| err(path, e))?;
            if let Some(s) = pts.first().filter(|p| inside(p)) {
                chart.draw_series([Circle::new(*s, 7, BLACK.stroke_width(2))]).map_err(|e| err(path, e))?;
            }
        }
        chart
            .configure_series_labels()
            .border_style(BLACK)
            .background_style(WHITE.mix(0.85))
            .draw()
            .map_err(|e| err(path, e))
    })
}

/// A schedule: the rate (and momentum, when cycled) against the step.
///
/// # Errors
/// [`GradusError::Plot`] if the file cannot be written.
pub fn schedule(path: &Path, title: &str, lrs: &[f64], momenta: Option<&[f64]>) -> Result<(), GradusError> {
    svg(path, (720, 400), |root| {
        let ((lo, hi), left_out) = range(lrs.iter().copied());
        let mut chart = ChartBuilder::on(root)
            .caption(format!("{title}{}", left_out_note(left_out)), ("sans-serif", 16))
            .margin(12)
            .x_label_area_size(32)
            .y_label_area_size(60)
            .right_y_label_area_size(if momenta.is_some() { 50 } else { 0 })
            .build_cartesian_2d(0.0..lrs.len().max(2) as f64, lo..hi)
            .map_err(|e| err(path, e))?
            .set_secondary_coord(0.0..lrs.len().max(2) as f64, {
                let ((a, b), _) = range(momenta.unwrap_or(&[0.0, 1.0]).iter().copied());
                a..b
            });
        chart
            .configure_mesh()
            .x_desc("step")
            .y_desc("learning rate")
            .y_label_formatter(&tick)
            .draw()
            .map_err(|e| err(path, e))?;
        let lines = drawable_runs(lrs.iter().enumerate().map(|(t, &v)| (t as f64, v)));
        chart
            .draw_series(lines.iter().map(|r| PathElement::new(r.clone(), PALETTE[0].stroke_width(2))))
            .map_err(|e| err(path, e))?;
        if let Some(m) = momenta {
            chart.configure_secondary_axes().y_desc("momentum").draw().map_err(|e| err(path, e))?;
            chart
                .draw_secondary_series(
                    drawable_runs(m.iter().enumerate().map(|(t, &v)| (t as f64, v)))
                        .into_iter()
                        .map(|r| PathElement::new(r, PALETTE[1].stroke_width(2))),
                )
                .map_err(|e| err(path, e))?;
        }
        Ok(())
    })
}
