//! The output formats of docs/cli.md: CSV and JSON rows, the curvature report,
//! and the trace plot. Numbers print in shortest round-trip form (`{}`), so
//! they parse back to the same f64.

use crate::functions::Function;
use gradus::GradusError;
use std::fmt::Write as _;
use std::path::Path;

pub(crate) fn list(v: &[f64]) -> String {
    format!("[{}]", v.iter().map(|x| json_number(*x)).collect::<Vec<_>>().join(", "))
}

/// JSON has no NaN or infinities: they print as null.
pub(crate) fn json_number(x: f64) -> String {
    if x.is_finite() { format!("{x}") } else { "null".into() }
}

/// Rows printed as they are computed, so a long run shows its progress and
/// a failure keeps what was printed: CSV lines under a header, or the items
/// of one JSON array (closed by [`Rows::finish`], also after a failure).
pub struct Rows<W: std::io::Write> {
    out: W,
    json: bool,
    count: usize,
}

impl<W: std::io::Write> Rows<W> {
    /// Starts the output: the CSV header, or the array's `[`.
    pub fn new(mut out: W, json: bool, csv_header: &str) -> std::io::Result<Self> {
        if json {
            write!(out, "[")?;
        } else {
            writeln!(out, "{csv_header}")?;
        }
        Ok(Self { out, json, count: 0 })
    }

    /// One row, in whichever format was chosen.
    pub fn row(&mut self, csv: impl FnOnce() -> String, json: impl FnOnce() -> String) -> std::io::Result<()> {
        if self.json {
            write!(self.out, "{}\n  {}", if self.count == 0 { "" } else { "," }, json())?;
        } else {
            writeln!(self.out, "{}", csv())?;
        }
        self.count += 1;
        Ok(())
    }

    /// Closes the JSON array and flushes.
    pub fn finish(mut self) -> std::io::Result<()> {
        if self.json {
            writeln!(self.out, "\n]")?;
        }
        self.out.flush()
    }
}

/// The header of a trace of a `dim`-dimensional point: `step,x0,x1,…,loss`.
pub fn trace_header(dim: usize) -> String {
    let xs: Vec<String> = (0..dim).map(|i| format!("x{i}")).collect();
    format!("step,{},loss", xs.join(","))
}

/// A trace row: CSV `t,x0,x1,…,loss` and the JSON `{"step", "x", "loss"}`.
pub fn trace_row(t: usize, p: &[f64], loss: f64) -> (String, String) {
    let xs: Vec<String> = p.iter().map(|x| format!("{x}")).collect();
    (
        format!("{t},{},{loss}", xs.join(",")),
        format!("{{\"step\": {t}, \"x\": {}, \"loss\": {}}}", list(p), json_number(loss)),
    )
}

/// A schedule row: CSV `t,lr,momentum` (momentum empty where none) and JSON.
pub fn schedule_row(t: usize, lr: f64, momentum: Option<f64>) -> (String, String) {
    (
        format!("{t},{lr},{}", momentum.map_or(String::new(), |m| format!("{m}"))),
        format!(
            "{{\"step\": {t}, \"lr\": {}, \"momentum\": {}}}",
            json_number(lr),
            momentum.map_or("null".into(), json_number)
        ),
    )
}

/// What `gradus hessian` reports.
pub struct Curvature {
    pub point: Vec<f64>,
    pub value: f64,
    pub gradient: Vec<f64>,
    pub hessian: Vec<f64>,
    pub eigenvalues: Vec<f64>,
    pub kind: &'static str,
    pub condition_number: f64,
    pub max_stable_lr: f64,
}

impl Curvature {
    fn rows(&self) -> Vec<Vec<f64>> {
        let n = self.point.len();
        self.hessian.chunks(n).map(<[f64]>::to_vec).collect()
    }

    /// The JSON object with docs/cli.md's keys.
    pub fn json(&self) -> String {
        let h: Vec<String> = self.rows().iter().map(|r| list(r)).collect();
        format!(
            "{{\"point\": {}, \"value\": {}, \"gradient\": {}, \"hessian\": [{}], \"eigenvalues\": {}, \"kind\": \"{}\", \"condition_number\": {}, \"max_stable_lr\": {}}}\n",
            list(&self.point),
            json_number(self.value),
            list(&self.gradient),
            h.join(", "),
            list(&self.eigenvalues),
            self.kind,
            json_number(self.condition_number),
            json_number(self.max_stable_lr)
        )
    }

    /// The text report.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "point             {}", list(&self.point));
        let _ = writeln!(out, "value             {}", self.value);
        let _ = writeln!(out, "gradient          {}", list(&self.gradient));
        for (i, r) in self.rows().iter().enumerate() {
            let _ = writeln!(out, "{}{}", if i == 0 { "hessian           " } else { "                  " }, list(r));
        }
        let _ = writeln!(out, "eigenvalues       {}", list(&self.eigenvalues));
        let _ = writeln!(out, "kind              {}", self.kind);
        let _ = writeln!(out, "condition number  {}", self.condition_number);
        let _ = writeln!(out, "max stable GD lr  {} (2/λ_max)", self.max_stable_lr);
        out
    }
}

/// The path over a contour map (2-D), or the iterates on the curve (1-D);
/// in 2-D, `shadow`'s segments (from an iterate to a point the method
/// evaluated or keeps, named by its label) drawn faintly beside it.
pub fn plot_trace(
    path: &Path,
    func: &Function,
    rows: &[(Vec<f64>, f64)],
    label: &str,
    shadow: Option<(&str, &[crate::trace::Segment])>,
) -> Result<(), GradusError> {
    let f = func.f;
    let eval = |x: f64, y: f64| {
        let p = if func.dim == 1 { vec![x] } else { vec![x, y] };
        f(&gradus::autodiff::Var::constant(gradus::tensor::Tensor::from_slice(&p, &[p.len()]).expect("a vector")))
            .item()
    };
    if func.dim == 1 {
        let pts: Vec<(f64, f64)> = rows.iter().map(|(p, loss)| (p[0], *loss)).collect();
        return gradus::plot::curve(
            path,
            &format!("{} — {label}", func.name),
            |x| eval(x, 0.0),
            func.window.0,
            &[(label.to_string(), pts)],
        );
    }
    let pts: Vec<(f64, f64)> = rows.iter().map(|(p, _)| (p[0], p[1])).collect();
    let shadow = shadow.map(|(what, segments)| gradus::plot::Shadow {
        label: what.to_string(),
        segments: segments.iter().map(|(a, b)| ((a[0], a[1]), (b[0], b[1]))).collect(),
    });
    gradus::plot::paths_with(
        path,
        &format!("{} — {label}", func.name),
        eval,
        func.window,
        func.minima,
        &[(label.to_string(), pts)],
        &[shadow],
    )
}
