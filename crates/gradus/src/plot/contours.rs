//! Isolines of a function sampled on a grid, by marching squares (the
//! `contour` crate), coloured by level: the contour figures of loss
//! landscapes and test functions.

use super::{err, tick};
use crate::GradusError;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use std::path::Path;

/// `n` contour levels for `values`: for a function ≥ 0 that spans more
/// than a decade (a loss, Rosenbrock's valley), spaced geometrically from
/// its minimum (or 1e-4 of its maximum, if that is larger) to its maximum,
/// so that the low levels that show a basin are not lost; otherwise evenly.
///
/// ```
/// let even = gradus::plot::contour_levels([-1.0, 1.0].into_iter(), 4);
/// assert_eq!(even, vec![-0.75, -0.25, 0.25, 0.75]);
/// let log = gradus::plot::contour_levels([1.0, 1e4].into_iter(), 4);
/// assert!((log[1] / log[0] - 10.0).abs() < 1e-9);
/// ```
pub fn levels(values: impl Iterator<Item = f64>, n: usize) -> Vec<f64> {
    let (lo, hi) =
        values.filter(|v| v.is_finite()).fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| (l.min(v), h.max(v)));
    if lo >= hi || n == 0 {
        return Vec::new();
    }
    let at = |k: usize| (k as f64 - 0.5) / n as f64;
    if lo >= 0.0 && hi > 10.0 * lo {
        let base = lo.max(hi * 1e-4);
        (1..=n).map(|k| base * (hi / base).powf(at(k))).collect()
    } else {
        (1..=n).map(|k| lo + (hi - lo) * at(k)).collect()
    }
}

/// The colour of level `k` of `n`: viridis-like, dark (low) to yellow (high).
pub fn colour(k: usize, n: usize) -> RGBColor {
    const STOPS: [(f64, f64, f64); 5] =
        [(68.0, 1.0, 84.0), (59.0, 82.0, 139.0), (33.0, 145.0, 140.0), (94.0, 201.0, 98.0), (253.0, 231.0, 37.0)];
    let t = if n <= 1 { 0.0 } else { k as f64 / (n - 1) as f64 } * (STOPS.len() - 1) as f64;
    let i = (t.floor() as usize).min(STOPS.len() - 2);
    let f = t - i as f64;
    let mix = |a: f64, b: f64| (a + f * (b - a)).round() as u8;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Draws the isolines of `values[j][i]` (at (`xs[i]`, `ys[j]`), an even
/// grid) at `levels`, each level in its colour, with a legend of every
/// other level's value.
///
/// # Errors
/// [`GradusError::Plot`] if the grid is ragged or drawing fails.
pub fn draw<'a, 'b: 'a>(
    chart: &mut Chart<'a, 'b>,
    path: &Path,
    xs: &[f64],
    ys: &[f64],
    values: &[Vec<f64>],
    levels: &[f64],
) -> Result<(), GradusError> {
    let labels = isolines(chart, path, xs, ys, values, levels, 2)?;
    for (k, (value, c)) in labels.into_iter().enumerate() {
        if k % 2 == 0 {
            chart
                .draw_series(std::iter::empty::<PathElement<(f64, f64)>>())
                .map_err(|e| err(path, e))?
                .label(tick(&value))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 14, y)], c.stroke_width(3)));
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font(("sans-serif", 11))
        .border_style(BLACK)
        .background_style(WHITE.mix(0.85))
        .draw()
        .map_err(|e| err(path, e))
}

/// The isolines alone, `width` pixels wide (width 1 draws them faint, as
/// a background for paths); returns each level's value and colour.
///
/// # Errors
/// [`GradusError::Plot`] if the grid is ragged or drawing fails.
pub fn isolines<'a, 'b: 'a>(
    chart: &mut Chart<'a, 'b>,
    path: &Path,
    xs: &[f64],
    ys: &[f64],
    values: &[Vec<f64>],
    levels: &[f64],
    width: u32,
) -> Result<Vec<(f64, RGBColor)>, GradusError> {
    let mut drawn = Vec::new();
    for (k, &level) in levels.iter().enumerate() {
        let c = colour(k, levels.len());
        let style = if width > 1 { c.stroke_width(width) } else { c.mix(0.55).stroke_width(1) };
        isolines_in(chart, path, xs, ys, values, &[level], style)?;
        drawn.push((level, c));
    }
    Ok(drawn)
}

/// The isolines at `levels`, all in `style`.
///
/// # Errors
/// [`GradusError::Plot`] if the grid is ragged or drawing fails.
pub fn isolines_in<'a, 'b: 'a>(
    chart: &mut Chart<'a, 'b>,
    path: &Path,
    xs: &[f64],
    ys: &[f64],
    values: &[Vec<f64>],
    levels: &[f64],
    style: ShapeStyle,
) -> Result<(), GradusError> {
    let (nx, ny) = (xs.len(), ys.len());
    if nx < 2 || ny < 2 || values.len() != ny || values.iter().any(|r| r.len() != nx) {
        return Err(err(path, "the contour grid does not match its axes"));
    }
    let (dx, dy) = ((xs[nx - 1] - xs[0]) / (nx - 1) as f64, (ys[ny - 1] - ys[0]) / (ny - 1) as f64);
    // Marching squares over the samples; non-finite samples count as
    // above every level, so lines go round them.
    let flat: Vec<f64> = values.iter().flatten().map(|v| if v.is_finite() { *v } else { f64::MAX }).collect();
    // The crate puts sample i at i + 0.5 in its grid units.
    let builder = contour::ContourBuilder::new(nx, ny, true)
        .x_origin(xs[0] - 0.5 * dx)
        .y_origin(ys[0] - 0.5 * dy)
        .x_step(dx)
        .y_step(dy);
    let lines = builder.lines(&flat, levels).map_err(|e| err(path, format!("{e:?}")))?;
    let inside = |p: &(f64, f64)| p.0 >= xs[0] && p.0 <= xs[nx - 1] && p.1 >= ys[0] && p.1 <= ys[ny - 1];
    for line in &lines {
        let rings: Vec<Vec<(f64, f64)>> = line
            .geometry()
            .0
            .iter()
            .flat_map(|ls| {
                // Ring pieces that run along the grid's border are not isolines.
                let pts: Vec<(f64, f64)> = ls.0.iter().map(|p| (p.x, p.y)).collect();
                let mut pieces = vec![Vec::new()];
                for p in pts {
                    if inside(&p) {
                        pieces.last_mut().expect("never empty").push(p);
                    } else if !pieces.last().expect("never empty").is_empty() {
                        pieces.push(Vec::new());
                    }
                }
                pieces.into_iter().filter(|p| p.len() > 1)
            })
            .collect();
        chart.draw_series(rings.into_iter().map(|r| PathElement::new(r, style))).map_err(|e| err(path, e))?;
    }
    Ok(())
}
