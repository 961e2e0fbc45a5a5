//! `gradus`: the command line of docs/cli.md. `trace` runs an optimiser
//! on a test function, `schedule` prints a learning-rate schedule step by
//! step, `hessian` reports the curvature at a point, `train` and `compare`
//! train a model on Fashion-MNIST or MNIST, `curvature`, `landscape` and
//! `lr-find` look at a network's loss (curvature.rs, landscape.rs, lr_find.rs). Wrong input exits
//! with code 2 and says what is accepted.

mod curvature;
mod functions;
mod lab;
mod landscape;
mod lr_find;
mod memory;
mod output;
mod outputs;
mod ranks;
mod summary;
mod train;

use clap::builder::TypedValueParser;
use clap::{Parser, Subcommand, ValueEnum};
use gradus::autodiff::{PointKind, Tape, curvature, grad};
use gradus::optim::{Method, Optimizer, parse_method};
use gradus::sched::{ReduceOnPlateau, Schedule};
use gradus::tensor::Tensor;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "gradus", version, about = "Optimisers, schedules and curvature, exact to PyTorch's numbers")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum Format {
    Csv,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum TextFormat {
    Text,
    Json,
}

/// Options shared by `train` and `compare`.
#[derive(clap::Args)]
struct RunArgs {
    /// The dataset: fashion-mnist or mnist.
    #[arg(long, default_value = "fashion-mnist")]
    data: String,
    /// A directory holding the four *-ubyte(.gz) files.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// The model, e.g. "mlp(784, 256, 128, 10, act=relu, dropout=0.2)",
    /// or @FILE for a spec in a file (`#` comments, newlines as spaces).
    #[arg(long, default_value = "mlp(784, 256, 128, 10, act=relu)")]
    model: String,
    /// A schedule spec.
    #[arg(long)]
    schedule: Option<String>,
    /// When a step schedule advances.
    #[arg(long, default_value = "epoch", value_parser = clap::builder::PossibleValuesParser::new(gradus::Every::NAMES).map(|s| s.parse::<gradus::Every>().expect("a listed name")))]
    schedule_every: gradus::Every,
    /// Epochs in total.
    #[arg(long, default_value_t = 10)]
    epochs: usize,
    /// Mini-batch size.
    #[arg(long, default_value_t = 128)]
    batch_size: usize,
    /// Seed of the initial weights, dropout and shuffling.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output directory.
    #[arg(long)]
    out: PathBuf,
    /// Augment training images, e.g. "crop=2, flip=true, mean=0.286, std=0.353".
    #[arg(long)]
    augment: Option<String>,
    /// Replace a run already in --out (without it such a run is refused).
    #[arg(long)]
    overwrite: bool,
    /// Anomaly mode: a run that diverges names the first op that produced
    /// a non-finite value (slower: every value is scanned).
    #[arg(long)]
    detect_anomaly: bool,
    /// Flush subnormal floats to zero (PyTorch's torch.set_flush_denormal):
    /// faster where Adam's moments decay through the subnormal range, but
    /// results that would be subnormal become 0. Recorded in the checkpoint.
    #[arg(long)]
    flush_denormal: bool,
    /// Under mpirun: batch norm's training statistics over the global
    /// batch (`global`, synchronised across the processes) or over each
    /// process's shard (`local`, PyTorch DDP's default).
    #[arg(long, value_enum, default_value = "global")]
    batch_stats: BatchStats,
}

/// Where batch norm takes its statistics in a run of several processes.
#[derive(Clone, Copy, ValueEnum)]
enum BatchStats {
    Global,
    Local,
}

impl RunArgs {
    fn run(self) -> Result<train::Run, Failure> {
        if self.epochs == 0 || self.batch_size == 0 {
            return Err(usage("--epochs and --batch-size must be positive"));
        }
        gradus::autodiff::set_anomaly_mode(self.detect_anomaly);
        if self.flush_denormal && !gradus::tensor::set_flush_denormal(true) {
            return Err(usage("--flush-denormal: this CPU cannot flush subnormals (x86-64 only)"));
        }
        Ok(train::Run {
            data: self.data,
            data_dir: self.data_dir,
            model: train::model_text(&self.model)?,
            schedule: self.schedule,
            schedule_every: self.schedule_every,
            epochs: self.epochs,
            batch_size: self.batch_size,
            seed: self.seed,
            out: self.out,
            augment: self.augment.as_deref().map(|a| train::parse_augment(a, self.seed)).transpose()?,
            augment_text: self.augment,
            overwrite: self.overwrite,
            batch_stats: match self.batch_stats {
                BatchStats::Global => gradus::BatchStats::Global,
                BatchStats::Local => gradus::BatchStats::Local,
            },
            sharpness_every: 0,
            flush_denormal: self.flush_denormal,
        })
    }
}

#[derive(Subcommand)]
enum Command {
    /// Train a model: metrics.csv, learning_curve.svg and a resumable
    /// checkpoint.safetensors in --out.
    Train {
        #[command(flatten)]
        run: RunArgs,
        /// An optimiser spec.
        #[arg(long, default_value = "adam(lr=1e-3)")]
        optimizer: String,
        /// Continue the run in --out up to --epochs in total.
        #[arg(long)]
        resume: bool,
        /// Measure sharpness (λ_max of the loss's Hessian on the monitoring
        /// subset) every N steps into sharpness.csv and sharpness.svg.
        #[arg(long)]
        sharpness_every: Option<usize>,
    },
    /// Train the same model from the same initial weights with each
    /// optimiser; print them ranked by test accuracy.
    Compare {
        #[command(flatten)]
        run: RunArgs,
        /// Optimiser specs separated by `;`.
        #[arg(long)]
        optimizers: String,
    },
    /// Run an optimiser on a built-in test function (square, rosenbrock,
    /// himmelblau, ravine, saddle); prints `step,x0,x1,…,loss`.
    Trace {
        /// The function.
        #[arg(long)]
        function: String,
        /// The start point, comma-separated (`--start=-1.5,2`).
        #[arg(long, allow_hyphen_values = true)]
        start: String,
        /// An optimiser spec, e.g. "adam(lr=0.01)" (newton and lbfgs too).
        #[arg(long)]
        optimizer: String,
        /// Steps to take.
        #[arg(long, default_value_t = 100)]
        steps: usize,
        /// A schedule spec applied per step.
        #[arg(long)]
        schedule: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value = "csv")]
        format: Format,
        /// Also draw the path over a contour map (1-D: the curve) as SVG.
        #[arg(long)]
        plot: Option<PathBuf>,
        /// Replace a --plot file that exists.
        #[arg(long)]
        overwrite: bool,
    },
    /// Print a schedule's rate (and momentum) for steps 0 … steps−1.
    Schedule {
        /// The schedule spec, e.g. "onecycle(max_lr=0.1, total_steps=300)".
        spec: String,
        /// The base learning rate.
        #[arg(long, value_parser = non_negative, allow_hyphen_values = true)]
        lr: f64,
        /// Steps to print.
        #[arg(long)]
        steps: usize,
        /// The momentum shown where the schedule does not cycle it.
        #[arg(long, value_parser = non_negative, allow_hyphen_values = true)]
        momentum: Option<f64>,
        /// For `plateau`: a file of metrics, one number per line, one per step.
        #[arg(long)]
        metrics: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value = "csv")]
        format: Format,
        /// Also draw it as SVG.
        #[arg(long)]
        plot: Option<PathBuf>,
        /// Replace a --plot file that exists.
        #[arg(long)]
        overwrite: bool,
    },
    /// The Hessian of a trained network's loss: its largest eigenvalues
    /// (Lanczos), trace (Hutchinson) and spectral density (stochastic
    /// Lanczos quadrature) on a fixed subset of the training data.
    Curvature(curvature::CurvatureArgs),
    /// The learning-rate range test (fastai's lr_find): a fresh model
    /// trained at geometrically growing rates; prints the curve and the
    /// suggested rates.
    LrFind(lr_find::LrFindArgs),
    /// The loss around a trained network: along the line to another
    /// checkpoint or from the initial weights, or along filter-normalised
    /// random directions (a line or a plane).
    Landscape(landscape::LandscapeArgs),
    /// A model's items before anything is trained: each with its
    /// checkpoint name, output shape, parameters and multiply-adds per
    /// example (as torchinfo counts them), then the totals.
    Summary(summary::SummaryArgs),
    /// Curvature at a point: value, gradient, Hessian, eigenvalues, kind,
    /// condition number, largest stable GD rate.
    Hessian {
        /// The function.
        #[arg(long)]
        function: String,
        /// The point, comma-separated (`--at=3,2`).
        #[arg(long, allow_hyphen_values = true)]
        at: String,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: TextFormat,
    },
}

/// How a command failed, by exit code: bad input (2), the environment (1),
/// or a run that diverged (3).
pub(crate) enum Failure {
    Usage(String),
    Run(String),
    Diverged(String),
    /// The reader closed standard output (`gradus schedule … | head`): the
    /// command stops quietly.
    Closed,
    /// Another rank of the run failed with this exit code and said why;
    /// this one stops quietly.
    Peer(u8),
}

impl Failure {
    /// The exit code.
    pub(crate) fn code(&self) -> u8 {
        match self {
            Failure::Closed => 0,
            Failure::Usage(_) => 2,
            Failure::Run(_) => 1,
            Failure::Diverged(_) => 3,
            Failure::Peer(code) => *code,
        }
    }
}

/// Bare I/O errors are those of standard output (files are named): a
/// closed pipe ends the command quietly.
impl From<std::io::Error> for Failure {
    fn from(io: std::io::Error) -> Self {
        if io.kind() == std::io::ErrorKind::BrokenPipe {
            Failure::Closed
        } else {
            Failure::Run(format!("writing to standard output: {io}"))
        }
    }
}

/// The library's errors carry their exit code ([`gradus::GradusError::exit_code`]).
impl From<gradus::GradusError> for Failure {
    fn from(e: gradus::GradusError) -> Self {
        if let gradus::GradusError::Peer { code, .. } = e {
            return Failure::Peer(code);
        }
        match e.exit_code() {
            3 => Failure::Diverged(e.to_string()),
            2 => Failure::Usage(e.to_string()),
            _ => Failure::Run(e.to_string()),
        }
    }
}

/// A tensor whose shape the command itself chose did not fit: not the
/// user's input, so exit 1.
impl From<gradus::tensor::TensorError> for Failure {
    fn from(e: gradus::tensor::TensorError) -> Self {
        Failure::Run(e.to_string())
    }
}

/// The crates' own errors, through the facade's.
macro_rules! through_gradus_error {
    ($($t:ty),*) => {$(
        impl From<$t> for Failure {
            fn from(e: $t) -> Self {
                gradus::GradusError::from(e).into()
            }
        }
    )*};
}
through_gradus_error!(
    gradus::nn::NnError,
    gradus::data::DataError,
    gradus::optim::OptimError,
    gradus::sched::SchedError,
    gradus::loss::LossError,
    gradus::autodiff::AutodiffError
);

pub(crate) fn usage(e: impl std::fmt::Display) -> Failure {
    Failure::Usage(e.to_string())
}

/// A number a user gave: finite, or an error saying so.
pub(crate) fn finite(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(x) if x.is_finite() => Ok(x),
        Ok(_) => Err(format!("`{text}` is not a finite number")),
        Err(_) => Err(format!("`{text}` is not a number")),
    }
}

/// A finite number ≥ 0 (rates, momenta), for clap.
fn non_negative(text: &str) -> Result<f64, String> {
    let x = finite(text)?;
    if x < 0.0 { Err(format!("`{text}` is negative; give a finite number ≥ 0")) } else { Ok(x) }
}

/// Rows a plot keeps at most: a plot of more shows nothing more, and
/// keeping every row is what grows without bound.
const PLOT_ROWS: usize = 1_000_000;

fn plot_bound(plot: &Option<PathBuf>, steps: usize) -> Result<(), Failure> {
    if plot.is_some() && steps >= PLOT_ROWS {
        return Err(usage(format!(
            "--plot keeps every row in memory: {steps} steps would take {} MB; plot at most {} steps (without --plot rows stream and any number works)",
            (steps as f64 * 24.0 / 1e6).ceil(),
            PLOT_ROWS - 1
        )));
    }
    Ok(())
}

/// Refuses more steps than a schedule defines (onecycle), before any output.
fn schedule_range(s: &dyn gradus::sched::LrScheduler, spec: &str, steps: usize) -> Result<(), Failure> {
    match s.last_step() {
        Some(last) if steps > last + 1 => Err(usage(format!(
            "{spec} defines steps 0 … {last}; --steps {steps} asks for step {} (torch's OneCycleLR raises past total_steps)",
            steps - 1
        ))),
        _ => Ok(()),
    }
}

/// Writes `text` to standard output; a failed write is an error (exit 1,
/// or a quiet stop when the reader left), never a panic.
pub(crate) fn say(text: &str) -> Result<(), Failure> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

/// Writes a line to standard error, ignoring a failure (there is nowhere
/// left to report it).
pub(crate) fn note(text: &str) {
    if ranks::speaks() {
        shout(text);
    }
}

/// [`note`] on every rank (a rank's own error).
pub(crate) fn shout(text: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "{text}");
}

/// Standard output, buffered; rows are flushed as the buffer fills.
fn stdout() -> std::io::BufWriter<std::io::StdoutLock<'static>> {
    std::io::BufWriter::new(std::io::stdout().lock())
}

fn main() -> ExitCode {
    // This thread trains, so it is one of the pool's threads (RAYON_NUM_THREADS, else one per core).
    gradus::tensor::init_threads(0).expect("nothing has used rayon before main");
    // Under mpirun every rank parses the same arguments: rank 0 alone
    // reports a usage error.
    let launch = gradus::dist::launched().filter(|l| l.size > 1);
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if launch.is_some_and(|l| l.rank != 0) => return ExitCode::from(e.exit_code() as u8),
        Err(e) => e.exit(),
    };
    let several = matches!(cli.command, Command::Train { .. } | Command::Compare { .. });
    let ranks = match ranks::Ranks::start(several) {
        Ok(r) => r,
        Err(f) => {
            if let Failure::Usage(msg) = &f {
                note(&format!("gradus: {msg}"));
            }
            return ExitCode::from(f.code());
        }
    };
    let result = match cli.command {
        Command::Trace { function, start, optimizer, steps, schedule, format, plot, overwrite } => {
            outputs::fresh("--plot", plot.as_deref(), &[], overwrite)
                .and_then(|()| trace(&function, &start, &optimizer, steps, schedule.as_deref(), format, plot))
        }
        Command::Schedule { spec, lr, steps, momentum, metrics, format, plot, overwrite } => {
            let inputs: Vec<&Path> = metrics.iter().map(PathBuf::as_path).collect();
            outputs::fresh("--plot", plot.as_deref(), &inputs, overwrite)
                .and_then(|()| schedule(&spec, lr, steps, momentum, metrics, format, plot))
        }
        Command::Hessian { function, at, format } => hessian(&function, &at, format),
        Command::Curvature(args) => curvature::curvature(&args),
        Command::LrFind(args) => lr_find::lr_find(&args),
        Command::Landscape(args) => landscape::landscape(&args),
        Command::Summary(args) => summary::summary(&args),
        Command::Train { run, optimizer, resume, sharpness_every } => {
            if resume && run.overwrite {
                Err(usage("--resume continues the run in --out and --overwrite replaces it; give one"))
            } else if sharpness_every == Some(0) {
                Err(usage("--sharpness-every must be positive (leave it out to measure no sharpness)"))
            } else if sharpness_every.is_some() && ranks.size > 1 {
                // Said once, by rank 0; the others stop with its code.
                if ranks.leads() {
                    Err(usage(
                        "--sharpness-every: sharpness is measured by one process on the whole monitoring subset; run without mpirun to measure it",
                    ))
                } else {
                    Err(Failure::Peer(2))
                }
            } else {
                run.run().and_then(|mut r| {
                    r.sharpness_every = sharpness_every.unwrap_or(0);
                    train::train(&r, &optimizer, resume, &ranks)
                })
            }
        }
        Command::Compare { run, optimizers } => run.run().and_then(|r| train::compare(&r, &optimizers, &ranks)),
    };
    let code = match result {
        Ok(()) | Err(Failure::Closed) => 0,
        Err(f @ Failure::Peer(_)) => f.code(),
        Err(f @ (Failure::Usage(_) | Failure::Run(_) | Failure::Diverged(_))) => {
            let (Failure::Usage(msg) | Failure::Run(msg) | Failure::Diverged(msg)) = &f else { unreachable!() };
            if ranks.size > 1 {
                shout(&format!("gradus: rank {}: {msg}", ranks.rank));
            } else {
                shout(&format!("gradus: {msg}"));
            }
            f.code()
        }
    };
    ranks.leave(code);
    ExitCode::from(code)
}

/// f and ∇f at `p`.
fn value_and_gradient(
    f: fn(&gradus::autodiff::Var<f64>) -> gradus::autodiff::Var<f64>,
    p: &[f64],
) -> Result<(f64, Vec<f64>), Failure> {
    let tape = Tape::new();
    let x = tape.leaf(Tensor::from_slice(p, &[p.len()])?);
    let y = f(&x);
    let g = grad(&[&y], None, &[&x], Default::default())?.remove(0).expect("x is used");
    Ok((y.item(), g.value().to_vec()))
}

/// One step of a method on a point: (step index, the point).
type Step<'a> = dyn FnMut(usize, &mut Vec<f64>) -> Result<(), Failure> + 'a;

fn trace(
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
    let mut advance: Box<Step<'_>> = match method {
        Method::FirstOrder(opt) => {
            let mut driver = Optimizer::boxed(opt);
            let base = driver.groups()[0].initial_lr;
            Box::new(move |t, p| {
                if let Some(lr) = rate(t, base) {
                    driver.set_lr(lr);
                }
                let (_, g) = value_and_gradient(func.f, p)?;
                driver.update(0, p, &g)?;
                Ok(())
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
                Ok(())
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
                failure.map_or(Ok(()), Err)
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
    for t in 0..steps {
        if let Err(e) = advance(t, &mut p) {
            diverged = Some(e);
            break;
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
        output::plot_trace(&path, func, &kept, optimizer)?;
    }
    diverged.map_or(Ok(()), Err)
}

fn schedule(
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

fn hessian(function: &str, at: &str, format: TextFormat) -> Result<(), Failure> {
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
