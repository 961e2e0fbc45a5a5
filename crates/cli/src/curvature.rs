//! `gradus curvature`: the Hessian (or the generalised Gauss–Newton
//! matrix) of a trained network's loss — its largest eigenvalues, trace
//! and spectral density.

use crate::lab::{AtCheckpoint, Dtype, Loaded, load};
use crate::output::{json_number, list};
use crate::{Failure, usage};
use gradus::autodiff::LanczosOptions;
use gradus::data::DataLoader;
use gradus::hessian::{Curvature, LossHessian};
use gradus::loss::CrossEntropy;
use gradus::tensor::Float;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

/// `gradus curvature`'s own options.
#[derive(clap::Args)]
pub struct CurvatureArgs {
    #[command(flatten)]
    pub at: AtCheckpoint,
    /// The matrix: the Hessian, the generalised Gauss–Newton matrix
    /// Jᵀ·H_L·J, the Monte-Carlo Fisher (labels drawn from the model,
    /// seeded) or the empirical Fisher (the data's labels).
    #[arg(long, default_value = "hessian", value_parser = clap::builder::PossibleValuesParser::new(Curvature::NAMES))]
    pub operator: String,
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
    /// Replace a --plot file that exists.
    #[arg(long)]
    pub overwrite: bool,
}

/// `gradus curvature`.
pub fn curvature(args: &CurvatureArgs) -> Result<(), Failure> {
    crate::outputs::fresh("--plot", args.plot.as_deref(), &[&args.at.checkpoint], args.overwrite)?;
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
    // Every step of the work is a matrix-vector product: the bar counts them.
    let kind = Curvature::parse(&args.operator).expect("clap checked the name");
    let unit = match kind {
        Curvature::Hessian => "Hessian products",
        Curvature::Ggn => "Gauss–Newton products",
        Curvature::Fisher => "Fisher products",
        Curvature::EmpiricalFisher => "empirical Fisher products",
    };
    let bar = crate::progress::Progress::new(0, "curvature", unit);
    let loss = CrossEntropy::default();
    let h = match kind {
        Curvature::Hessian => LossHessian::new(&model, &loss, &loader)?,
        // The labels drawn from the model, from the seed's own stream.
        Curvature::Fisher => LossHessian::fisher(&model, &loss, &loader, args.seed.wrapping_add(3))?,
        other => LossHessian::of_kind(&model, &loss, &loader, other)?,
    }
    .with_progress(|n| bar.set(n));
    let dim = h.dimension();
    if args.top > dim {
        return Err(usage(format!(
            "--top {}: the model has {dim} parameters, so its Hessian has {dim} eigenvalues; give at most {dim}",
            args.top
        )));
    }
    if args.top > args.max_steps {
        return Err(usage(format!(
            "--top {} needs --max-steps of at least {} (Lanczos finds at most one eigenvalue per step); --max-steps is {}",
            args.top, args.top, args.max_steps
        )));
    }
    // Lanczos keeps every basis vector (full reorthogonalisation), at most
    // one per step and never more steps than dimensions.
    let width = std::mem::size_of::<T>() as f64;
    let basis = |steps: usize| steps.min(dim) as f64 * dim as f64 * width;
    let advice = "lower the count";
    crate::memory::fits(basis(args.max_steps), || format!("--max-steps {}: Lanczos vectors", args.max_steps), advice)?;
    if args.trace {
        crate::memory::fits(args.probes as f64 * 8.0, || format!("--probes {}", args.probes), advice)?;
    }
    if args.density || args.plot.is_some() {
        let quadratures = args.density_probes as f64 * args.density_steps.min(dim) as f64 * 16.0;
        crate::memory::fits(
            quadratures + basis(args.density_steps),
            || format!("--density-probes {} of --density-steps {}", args.density_probes, args.density_steps),
            advice,
        )?;
    }
    let want_density = args.density || args.plot.is_some();
    let budget = args.max_steps.min(dim)
        + if args.trace { args.probes } else { 0 }
        + if want_density { args.density_probes * args.density_steps.min(dim) } else { 0 };
    bar.set_len(budget);
    // The residual tolerance: eigenvalues converge with its square, so 1e-6
    // in f64 leaves them exact to ~1e-12; f32's products carry ~1e-6 noise.
    let tol = if std::mem::size_of::<T>() == 8 { 1e-7 } else { 1e-3 };
    let options = LanczosOptions { top: args.top, max_steps: args.max_steps, tol };
    let mut ritz = h.top_eigenvalues(&options, args.seed)?;
    // Only converged values are eigenvalues; the rest are not printed.
    let found = ritz.converged_count.min(args.top);
    if found < args.top {
        crate::note(&format!(
            "{found} of the top {} eigenvalues converged within --max-steps {}; only those are given (raise --max-steps for more)",
            args.top, args.max_steps
        ));
    }
    ritz.values.truncate(found);
    ritz.residuals.truncate(found);
    let trace = args.trace.then(|| h.trace(args.probes, args.seed.wrapping_add(1))).transpose()?;
    let density = want_density
        .then(|| h.density(args.density_probes, args.density_steps, 1000, args.seed.wrapping_add(2)))
        .transpose()?;
    bar.clear();
    let max_stable_lr = ritz.values.first().filter(|&&l1| l1 > 0.0).map(|l1| 2.0 / l1);
    if let (Some(p), Some(d)) = (&args.plot, &density) {
        gradus::plot::spectrum(p, &d.grid, &d.values, &ritz.values)?;
    }
    let seconds = start.elapsed().as_secs_f64();
    let text = match args.format {
        crate::TextFormat::Json => {
            let mut j = format!(
                "{{\"operator\": \"{}\", \"parameters\": {}, \"examples\": {}, \"loss\": {}, \"eigenvalues\": {}, \"residuals\": {}, \"converged\": {}, \"max_stable_lr\": {}",
                args.operator,
                h.dimension(),
                loaded.subset.len(),
                json_number(h.value()),
                list(&ritz.values),
                list(&ritz.residuals),
                found == args.top,
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
                "operator: {}\nparameters: {}\nexamples: {} (the first of the training set)\nloss: {}\neigenvalues: {}\nmax stable lr (2/λ₁): {}\n",
                args.operator,
                h.dimension(),
                loaded.subset.len(),
                h.value(),
                if ritz.values.is_empty() {
                    "none converged".to_string()
                } else {
                    ritz.values.iter().map(|v| format!("{v}")).collect::<Vec<_>>().join(", ")
                },
                max_stable_lr.map_or("none (λ₁ ≤ 0 or not converged)".into(), |v| format!("{v}"))
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
