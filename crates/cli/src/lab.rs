//! `gradus curvature` and `gradus landscape`: a trained network's loss
//! examined around its checkpoint (the Hessian's spectrum, the loss along a
//! line or over a plane). The function is the mean cross-entropy of the
//! model in evaluation mode over the first `--subset` training examples.

use crate::output::{json_number, list};
use crate::{Failure, usage};
use gradus::autodiff::LanczosOptions;
use gradus::data::{DataLoader, Dataset, Subset};
use gradus::hessian::LossHessian;
use gradus::loss::CrossEntropy;
use gradus::models::ModelSpec;
use gradus::nn::{Checkpoint, Module, Sequential, checkpoint};
use gradus::tensor::Float;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// The precision an analysis runs in.
#[derive(Clone, Copy, clap::ValueEnum, PartialEq, Eq)]
pub enum Dtype {
    F32,
    F64,
}

/// Where the function's data comes from, and the checkpoint it is taken at.
#[derive(clap::Args)]
pub struct AtCheckpoint {
    /// A run's checkpoint.safetensors (or a model saved alone).
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// The model spec; optional when the checkpoint records it.
    #[arg(long)]
    pub model: Option<String>,
    /// The dataset: fashion-mnist or mnist.
    #[arg(long, default_value = "fashion-mnist")]
    pub data: String,
    /// A directory holding the four *-ubyte(.gz) files.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// The first this many training examples (file order) define the loss.
    #[arg(long, default_value_t = 1000)]
    pub subset: usize,
}

/// A checkpoint's model and the data subset, ready for analysis.
pub struct Loaded {
    pub spec: ModelSpec,
    pub checkpoint: Checkpoint,
    pub subset: Arc<dyn Dataset>,
}

/// The prefix a checkpoint keeps the model under: `model.` in a run's
/// checkpoint, nothing in a model saved alone.
fn prefix(ck: &Checkpoint) -> &'static str {
    if ck.names().any(|n| n.starts_with("model.")) { "model." } else { "" }
}

/// Reads `--checkpoint`, settles the model spec (given or recorded; both
/// must agree) and loads the subset, checked against the model.
pub fn load(at: &AtCheckpoint) -> Result<Loaded, Failure> {
    if at.subset == 0 {
        return Err(usage("--subset must be positive"));
    }
    let path = &at.checkpoint;
    if !path.is_file() {
        return Err(usage(format!("--checkpoint {}: no such file", path.display())));
    }
    let ck = Checkpoint::load(path).map_err(|e| match e {
        gradus::nn::NnError::Io { .. } => Failure::Run(e.to_string()),
        other => usage(format!("--checkpoint: {other}")),
    })?;
    let recorded = ck.metadata("config.model").map(str::to_string);
    let text = match (&at.model, &recorded) {
        (Some(given), Some(rec)) if squeeze(given) != squeeze(rec) => {
            return Err(usage(format!(
                "--model {given} differs from the model {} records ({rec}); leave --model out to use the recorded one",
                path.display()
            )));
        }
        (Some(given), _) => given.clone(),
        (None, Some(rec)) => rec.clone(),
        (None, None) => {
            return Err(usage(format!("{} records no model; give it with --model", path.display())));
        }
    };
    let spec = crate::train::parse_model(&text)?;
    let (train, _, _) = crate::train::datasets(&at.data, at.data_dir.as_deref(), &spec, 0, at.subset.min(1000))?;
    let n = at.subset.min(train.len());
    if n < at.subset {
        crate::note(&format!("--subset {}: the training set holds {n} examples; using all of them", at.subset));
    }
    let subset: Arc<dyn Dataset> = Arc::new(Subset::new(train, (0..n).collect())?);
    Ok(Loaded { spec, checkpoint: ck, subset })
}

/// A spec without its spaces, for comparing specs as written.
fn squeeze(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

impl Loaded {
    /// The model in `T` with the checkpoint's values (stored in f32 or f64;
    /// converted when they differ from `T`).
    pub fn model<T: Float>(&self, path: &Path) -> Result<Sequential<T>, Failure> {
        let bad = |e: gradus::nn::NnError| usage(format!("{}: {e}", path.display()));
        let model = self.spec.build::<T>(0);
        let stored_f64 = self
            .checkpoint
            .names()
            .filter(|n| n.starts_with(prefix(&self.checkpoint)))
            .any(|n| self.checkpoint.describe(n).is_some_and(|(_, dtype)| dtype.eq_ignore_ascii_case("f64")));
        let same = (std::mem::size_of::<T>() == 8) == stored_f64;
        if same {
            checkpoint::restore(&model, &self.checkpoint, prefix(&self.checkpoint)).map_err(bad)?;
            return Ok(model);
        }
        // Restored in the stored type, then converted value by value.
        let copy = |from: &dyn Module<f64>| {
            let (to_p, to_b) = (model.named_parameters(), model.named_buffers());
            for ((_, p), (_, q)) in to_p.iter().zip(from.named_parameters()) {
                p.set(q.value().cast::<T>());
            }
            for ((_, b), (_, c)) in to_b.iter().zip(from.named_buffers()) {
                b.set(c.value().cast::<T>());
            }
        };
        if stored_f64 {
            let stored = self.spec.build::<f64>(0);
            checkpoint::restore(&stored, &self.checkpoint, prefix(&self.checkpoint)).map_err(bad)?;
            copy(&stored);
        } else {
            let stored = self.spec.build::<f32>(0);
            checkpoint::restore(&stored, &self.checkpoint, prefix(&self.checkpoint)).map_err(bad)?;
            let wide = self.spec.build::<f64>(0);
            for ((_, p), (_, q)) in wide.named_parameters().iter().zip(stored.named_parameters()) {
                p.set(q.value().cast::<f64>());
            }
            for ((_, b), (_, c)) in wide.named_buffers().iter().zip(stored.named_buffers()) {
                b.set(c.value().cast::<f64>());
            }
            copy(&wide);
        }
        Ok(model)
    }
}

/// `gradus curvature`'s own options.
#[derive(clap::Args)]
pub struct CurvatureArgs {
    #[command(flatten)]
    pub at: AtCheckpoint,
    /// How many of the largest eigenvalues (Lanczos).
    #[arg(long, default_value_t = 5)]
    pub top: usize,
    /// Also estimate the trace (Hutchinson, Rademacher probes).
    #[arg(long)]
    pub trace: bool,
    /// Probes of the trace estimate.
    #[arg(long, default_value_t = 100)]
    pub probes: usize,
    /// Also estimate the spectral density (stochastic Lanczos quadrature).
    #[arg(long)]
    pub density: bool,
    /// Lanczos steps per density probe (PyHessian's default).
    #[arg(long, default_value_t = 100)]
    pub density_steps: usize,
    /// Probes of the density (PyHessian's default: 1).
    #[arg(long, default_value_t = 1)]
    pub density_probes: usize,
    /// At most this many Hessian-vector products for the top eigenvalues.
    #[arg(long, default_value_t = 200)]
    pub max_steps: usize,
    /// Precision of the analysis.
    #[arg(long, value_enum, default_value = "f32")]
    pub dtype: Dtype,
    /// Seed of the random start and probe vectors.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: crate::TextFormat,
    /// Also draw the spectral density (computing it) as SVG.
    #[arg(long)]
    pub plot: Option<PathBuf>,
}

/// `gradus curvature`.
pub fn curvature(args: &CurvatureArgs) -> Result<(), Failure> {
    if args.top == 0 {
        return Err(usage("--top must be positive"));
    }
    if args.probes < 2 && args.trace {
        return Err(usage("--probes: the trace's standard error needs at least 2 probes"));
    }
    if args.density_steps == 0 || args.density_probes == 0 || args.max_steps == 0 {
        return Err(usage("--density-steps, --density-probes and --max-steps must be positive"));
    }
    let loaded = load(&args.at)?;
    match args.dtype {
        Dtype::F32 => curvature_in::<f32>(args, &loaded),
        Dtype::F64 => curvature_in::<f64>(args, &loaded),
    }
}

fn curvature_in<T: Float>(args: &CurvatureArgs, loaded: &Loaded) -> Result<(), Failure> {
    let start = Instant::now();
    let model = loaded.model::<T>(&args.at.checkpoint)?;
    let loader = DataLoader::new(Arc::clone(&loaded.subset), 500);
    let h = LossHessian::new(&model, &CrossEntropy::default(), &loader)?;
    // The residual tolerance: eigenvalues converge with its square, so 1e-6
    // in f64 leaves them exact to ~1e-12; f32's products carry ~1e-6 noise.
    let tol = if std::mem::size_of::<T>() == 8 { 1e-7 } else { 1e-3 };
    let options = LanczosOptions { top: args.top, max_steps: args.max_steps, tol };
    let ritz = h.top_eigenvalues(&options, args.seed)?;
    if !ritz.converged {
        crate::note(&format!(
            "the top {} eigenvalues did not converge within --max-steps {} (residuals {:?}); the values are estimates",
            args.top, args.max_steps, ritz.residuals
        ));
    }
    let trace = args.trace.then(|| h.trace(args.probes, args.seed.wrapping_add(1))).transpose()?;
    let want_density = args.density || args.plot.is_some();
    let density = want_density
        .then(|| h.density(args.density_probes, args.density_steps, 1000, args.seed.wrapping_add(2)))
        .transpose()?;
    let l1 = ritz.values[0];
    let max_stable_lr = if l1 > 0.0 { Some(2.0 / l1) } else { None };
    if let (Some(p), Some(d)) = (&args.plot, &density) {
        gradus::plot::spectrum(p, &d.grid, &d.values, &ritz.values)?;
    }
    let seconds = start.elapsed().as_secs_f64();
    let text = match args.format {
        crate::TextFormat::Json => {
            let mut j = format!(
                "{{\"parameters\": {}, \"examples\": {}, \"loss\": {}, \"eigenvalues\": {}, \"residuals\": {}, \"converged\": {}, \"max_stable_lr\": {}",
                h.dimension(),
                loaded.subset.len(),
                json_number(h.value()),
                list(&ritz.values),
                list(&ritz.residuals),
                ritz.converged,
                max_stable_lr.map_or("null".into(), json_number)
            );
            if let Some(t) = &trace {
                j += &format!(", \"trace\": {}, \"trace_stderr\": {}", json_number(t.trace), json_number(t.stderr));
            }
            if let Some(d) = &density {
                j += &format!(", \"density\": {{\"grid\": {}, \"weights\": {}}}", list(&d.grid), list(&d.values));
            }
            j + &format!(", \"hvp_calls\": {}, \"seconds\": {}}}\n", h.products(), json_number(seconds))
        }
        crate::TextFormat::Text => {
            let mut s = format!(
                "parameters: {}\nexamples: {} (the first of the training set)\nloss: {}\neigenvalues: {}\nmax stable lr (2/λ₁): {}\n",
                h.dimension(),
                loaded.subset.len(),
                h.value(),
                ritz.values.iter().map(|v| format!("{v}")).collect::<Vec<_>>().join(", "),
                max_stable_lr.map_or("none (λ₁ ≤ 0)".into(), |v| format!("{v}"))
            );
            if let Some(t) = &trace {
                s += &format!("trace: {} ± {} ({} Rademacher probes)\n", t.trace, t.stderr, t.probes);
            }
            if let Some(d) = &density {
                let step = d.grid[1] - d.grid[0];
                s += &format!(
                    "density: {} points on [{}, {}] (integral {:.6})\n",
                    d.grid.len(),
                    d.grid[0],
                    d.grid[d.grid.len() - 1],
                    d.values.iter().sum::<f64>() * step
                );
            }
            s + &format!("hvp calls: {}\nseconds: {seconds:.2}\n", h.products())
        }
    };
    crate::say(&text)
}

/// `gradus lr-find`'s options.
#[derive(clap::Args)]
pub struct LrFindArgs {
    /// The model spec (a fresh model from --seed).
    #[arg(long, default_value = "mlp(784, 256, 128, 10, act=relu)")]
    pub model: String,
    /// The optimiser spec (its lr is replaced by the sweep's).
    #[arg(long)]
    pub optimizer: String,
    /// The dataset: fashion-mnist or mnist.
    #[arg(long, default_value = "fashion-mnist")]
    pub data: String,
    /// A directory holding the four *-ubyte(.gz) files.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Mini-batch size.
    #[arg(long, default_value_t = 128)]
    pub batch_size: usize,
    /// The first rate.
    #[arg(long, default_value_t = 1e-7, value_parser = crate::finite)]
    pub start_lr: f64,
    /// The rate after --num-iter steps.
    #[arg(long, default_value_t = 10.0, value_parser = crate::finite)]
    pub end_lr: f64,
    /// At most this many steps.
    #[arg(long, default_value_t = 100)]
    pub num_iter: usize,
    /// Seed of the weights and the data order.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output format.
    #[arg(long, value_enum, default_value = "csv")]
    pub format: crate::Format,
    /// Also draw the curve with the suggestions as SVG.
    #[arg(long)]
    pub plot: Option<PathBuf>,
}

/// `gradus lr-find`.
pub fn lr_find(args: &LrFindArgs) -> Result<(), Failure> {
    if args.batch_size == 0 || args.num_iter == 0 {
        return Err(usage("--batch-size and --num-iter must be positive"));
    }
    if !(args.start_lr > 0.0 && args.end_lr > args.start_lr) {
        return Err(usage(format!("--start-lr {} and --end-lr {}: give 0 < start < end", args.start_lr, args.end_lr)));
    }
    let spec = crate::train::parse_model(&args.model)?;
    let optim = gradus::optim::Optim::boxed(crate::train::optimizer(&args.optimizer)?);
    let (train, _, _) =
        crate::train::datasets(&args.data, args.data_dir.as_deref(), &spec, args.seed, args.batch_size)?;
    let model = spec.build::<f32>(args.seed);
    let loader = DataLoader::new(train, args.batch_size).shuffle(args.seed).workers(1);
    let mut trainer = gradus::Trainer::new(optim);
    let options = gradus::lr_find::LrFindOptions {
        start_lr: args.start_lr,
        end_lr: args.end_lr,
        num_iter: args.num_iter,
        ..Default::default()
    };
    let found = trainer.lr_find(&model, &CrossEntropy::default(), &loader, &options)?;
    let suggestion = |s: Option<f64>| s.map_or("null".into(), json_number);
    let text = match args.format {
        crate::Format::Csv => {
            let mut t = String::from("step,lr,loss,smoothed_loss\n");
            for r in &found.rows {
                t += &format!("{},{},{},{}\n", r.step, r.lr, r.loss, r.smoothed);
            }
            t
        }
        crate::Format::Json => {
            let rows: Vec<String> = found
                .rows
                .iter()
                .map(|r| {
                    format!(
                        "{{\"step\": {}, \"lr\": {}, \"loss\": {}, \"smoothed_loss\": {}}}",
                        r.step,
                        json_number(r.lr),
                        json_number(r.loss),
                        json_number(r.smoothed)
                    )
                })
                .collect();
            format!(
                "{{\"rows\": [\n  {}\n], \"suggestions\": {{\"valley\": {}, \"steep\": {}}}}}\n",
                rows.join(",\n  "),
                suggestion(found.valley),
                suggestion(found.steep)
            )
        }
    };
    crate::say(&text)?;
    let named = |s: Option<f64>| s.map_or("none (the curve is too short)".into(), |v| format!("{v:.3e}"));
    let stopped = if found.rows.len() < args.num_iter {
        format!("stopped after {} steps: the smoothed loss passed 4x its best", found.rows.len())
    } else {
        format!("{} steps", found.rows.len())
    };
    crate::note(&format!(
        "lr-find: {stopped}; suggestions: valley {}, steep {}",
        named(found.valley),
        named(found.steep)
    ));
    if let Some(p) = &args.plot {
        let rows: Vec<(f64, f64, f64)> = found.rows.iter().map(|r| (r.lr, r.loss, r.smoothed)).collect();
        let marks: Vec<(String, f64)> = [("valley", found.valley), ("steep", found.steep)]
            .into_iter()
            .filter_map(|(n, v)| Some((n.to_string(), v?)))
            .collect();
        gradus::plot::lr_find(p, &rows, &marks)?;
    }
    Ok(())
}

/// Where `gradus landscape` looks.
#[derive(Clone, Copy, clap::ValueEnum, PartialEq, Eq)]
pub enum Mode {
    Line,
    Plane,
}

/// `gradus landscape`'s options.
#[derive(clap::Args)]
pub struct LandscapeArgs {
    #[command(flatten)]
    pub at: AtCheckpoint,
    /// A second checkpoint of the same model: the line θ(α) = (1 − α)·θ_A + α·θ_B.
    #[arg(long)]
    pub to: Option<PathBuf>,
    /// The line from the run's initial weights (rebuilt from the seed the
    /// checkpoint records) at α = 0 to the checkpoint at α = 1.
    #[arg(long)]
    pub from_init: bool,
    /// A line, or a plane of two filter-normalised random directions.
    #[arg(long, value_enum, default_value = "line")]
    pub mode: Mode,
    /// The range of α (and β), `lo:hi` (`--range=-1:1`).
    #[arg(long, default_value = "-1:1", allow_hyphen_values = true)]
    pub range: String,
    /// Points along each axis.
    #[arg(long, default_value_t = 51)]
    pub points: usize,
    /// Seed of the random directions.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output format.
    #[arg(long, value_enum, default_value = "csv")]
    pub format: crate::Format,
    /// Also draw it as SVG (a line figure, or contours of the plane).
    #[arg(long)]
    pub plot: Option<PathBuf>,
}

/// At most this many points along an axis (a plane evaluates its square).
const MAX_POINTS: usize = 1001;

fn parse_range(text: &str) -> Result<(f64, f64), Failure> {
    let bad = || usage(format!("--range {text}: give lo:hi with finite lo < hi, e.g. --range=-1:1"));
    let (lo, hi) = text.split_once(':').ok_or_else(bad)?;
    let (lo, hi) = (crate::finite(lo.trim()).map_err(|_| bad())?, crate::finite(hi.trim()).map_err(|_| bad())?);
    if lo < hi { Ok((lo, hi)) } else { Err(bad()) }
}

/// `gradus landscape`.
pub fn landscape(args: &LandscapeArgs) -> Result<(), Failure> {
    let (lo, hi) = parse_range(&args.range)?;
    if !(2..=MAX_POINTS).contains(&args.points) {
        return Err(usage(format!("--points {}: give 2 to {MAX_POINTS}", args.points)));
    }
    let between = args.to.is_some() || args.from_init;
    if args.to.is_some() && args.from_init {
        return Err(usage("--to and --from-init each give the line's other end; give one"));
    }
    if args.mode == Mode::Plane && between {
        return Err(usage("--mode plane spans two random directions; --to and --from-init give a line (--mode line)"));
    }
    let loaded = load(&args.at)?;
    let model = loaded.model::<f32>(&args.at.checkpoint)?;
    let loader = DataLoader::new(Arc::clone(&loaded.subset), 500);
    let loss = CrossEntropy::default();
    let axis: Vec<f64> = (0..args.points).map(|i| lo + (hi - lo) * i as f64 / (args.points - 1) as f64).collect();
    let checkpoint_state = gradus::landscape::State::of(&model);
    // The line's far end, and where it starts.
    let other = if let Some(b) = &args.to {
        let second = load(&AtCheckpoint {
            checkpoint: b.clone(),
            model: Some(loaded.spec.text().to_string()),
            data: args.at.data.clone(),
            data_dir: args.at.data_dir.clone(),
            subset: 1,
        })?;
        Some(gradus::landscape::State::of(&second.model::<f32>(b)?))
    } else if args.from_init {
        let seed = loaded.checkpoint.metadata("config.seed").ok_or_else(|| {
            usage(format!(
                "--from-init: {} records no seed to rebuild the initial weights from",
                args.at.checkpoint.display()
            ))
        })?;
        let seed: u64 =
            seed.parse().map_err(|_| usage(format!("--from-init: the recorded seed `{seed}` is not a number")))?;
        let init = gradus::landscape::State::of(&loaded.spec.build::<f32>(seed));
        init.load(&model);
        Some(checkpoint_state.clone())
    } else {
        None
    };
    let land = gradus::landscape::Landscape::new(&model, &loss, &loader);
    let fmt = |v: &[f64]| v.iter().map(|x| format!("{x}")).collect::<Vec<_>>().join(",");
    let json = |v: &[f64], names: &[&str]| {
        let fields: Vec<String> = names.iter().zip(v).map(|(n, x)| format!("\"{n}\": {}", json_number(*x))).collect();
        format!("{{{}}}", fields.join(", "))
    };
    let (rows, names): (Vec<Vec<f64>>, &[&str]) = match (&other, args.mode) {
        (Some(to), _) => {
            let evals = land.interpolate(to, &axis)?;
            (
                axis.iter().zip(&evals).map(|(a, e)| vec![*a, e.loss, e.accuracy]).collect(),
                &["alpha", "loss", "accuracy"],
            )
        }
        (None, Mode::Line) => {
            let d = gradus::landscape::filter_normalised_direction(&model, land.origin(), args.seed);
            let evals = land.line(&d, &axis)?;
            (
                axis.iter().zip(&evals).map(|(a, e)| vec![*a, e.loss, e.accuracy]).collect(),
                &["alpha", "loss", "accuracy"],
            )
        }
        (None, Mode::Plane) => {
            let d1 = gradus::landscape::filter_normalised_direction(&model, land.origin(), args.seed);
            let d2 = gradus::landscape::filter_normalised_direction(&model, land.origin(), args.seed.wrapping_add(1));
            let grid = land.plane((&d1, &d2), &axis, &axis)?;
            let mut rows = Vec::new();
            for (b, row) in axis.iter().zip(&grid) {
                for (a, e) in axis.iter().zip(row) {
                    rows.push(vec![*a, *b, e.loss, e.accuracy]);
                }
            }
            (rows, &["alpha", "beta", "loss", "accuracy"])
        }
    };
    drop(land);
    let text = match args.format {
        crate::Format::Csv => {
            let mut t = names.join(",") + "\n";
            for r in &rows {
                t += &(fmt(r) + "\n");
            }
            t
        }
        crate::Format::Json => {
            let items: Vec<String> = rows.iter().map(|r| json(r, names)).collect();
            format!("[\n  {}\n]\n", items.join(",\n  "))
        }
    };
    crate::say(&text)?;
    if let Some(p) = &args.plot {
        let subset = loaded.subset.len();
        match (&other, args.mode) {
            (Some(_), _) => {
                let (a, b) = if args.from_init {
                    ("the initial weights".to_string(), args.at.checkpoint.display().to_string())
                } else {
                    (args.at.checkpoint.display().to_string(), args.to.as_ref().expect("--to").display().to_string())
                };
                let title = format!("loss on {subset} training examples from {a} (α = 0) to {b} (α = 1)");
                let line: Vec<(f64, f64, f64)> = rows.iter().map(|r| (r[0], r[1], r[2])).collect();
                gradus::plot::landscape_line(p, &title, &line)?;
            }
            (None, Mode::Line) => {
                let title = format!("loss on {subset} training examples along a filter-normalised direction");
                let line: Vec<(f64, f64, f64)> = rows.iter().map(|r| (r[0], r[1], r[2])).collect();
                gradus::plot::landscape_line(p, &title, &line)?;
            }
            (None, Mode::Plane) => {
                let grid: Vec<Vec<f64>> = rows.chunks(axis.len()).map(|c| c.iter().map(|r| r[2]).collect()).collect();
                let title = format!(
                    "loss on {subset} training examples, two filter-normalised directions (× marks the checkpoint)"
                );
                gradus::plot::landscape_plane(p, &title, &axis, &axis, &grid)?;
            }
        }
    }
    Ok(())
}
