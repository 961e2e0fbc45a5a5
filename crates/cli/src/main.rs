//! `gradus`: the command line of docs/cli.md, one file per command.
//! `trace` runs an optimiser on a test function (trace.rs), `schedule`
//! prints a learning-rate schedule step by step (schedule.rs), `hessian`
//! reports the curvature at a point (hessian.rs), `train` and `compare`
//! train a model on Fashion-MNIST or MNIST (train.rs), `curvature`,
//! `landscape` and `lr-find` look at a network's loss (curvature.rs,
//! landscape.rs, lr_find.rs), `summary` lists a model (summary.rs). This
//! file holds the arguments, the exit codes and the conversions to them.
//! Wrong input exits with code 2 and says what is accepted.

mod curvature;
mod functions;
mod hessian;
mod lab;
mod landscape;
mod lr_find;
mod memory;
mod output;
mod outputs;
mod progress;
mod ranks;
mod sample;
mod schedule;
mod source;
mod summary;
mod trace;
mod train;

use clap::builder::TypedValueParser;
use clap::{Parser, Subcommand, ValueEnum};
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
    #[command(flatten)]
    source: source::Source,
    /// The model, e.g. "mlp(784, 256, 128, 10, act=relu, dropout=0.2)",
    /// or @FILE for a spec in a file (`#` comments, newlines as spaces).
    #[arg(long, default_value = "mlp(784, 256, 128, 10, act=relu)")]
    model: String,
    /// A schedule spec.
    #[arg(long)]
    schedule: Option<String>,
    /// A schedule of the optimiser's momentum (SGD's momentum, the Adam
    /// family's β₁): its values are factors on the optimiser's own, and it
    /// advances with --schedule-every. Recorded in the checkpoint.
    #[arg(long, value_name = "SPEC")]
    schedule_momentum: Option<String>,
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
    /// Scale all gradients together so their global norm is at most MAX
    /// (torch.nn.utils.clip_grad_norm_). Recorded in the checkpoint.
    #[arg(long, value_name = "MAX")]
    clip_grad_norm: Option<f64>,
    /// Adaptive gradient clipping (Brock et al. 2021, Optax's
    /// adaptive_grad_clip): each unit's gradient norm at most CLIP times
    /// its weights' norm. Recorded in the checkpoint.
    #[arg(long, value_name = "CLIP")]
    clip_grad_agc: Option<f64>,
    /// Skip (and count, in metrics.csv's `skipped`) a step whose loss or
    /// gradient is not finite, up to N in a row. Recorded in the checkpoint.
    #[arg(long, value_name = "N")]
    skip_nonfinite: Option<usize>,
    /// K micro-batches of --batch-size / K per step, their gradients
    /// added: the same step in less memory. Recorded in the checkpoint.
    #[arg(long, value_name = "K")]
    accumulate: Option<usize>,
    /// Parameters without weight decay (a second parameter group):
    /// `bias`, `norm` (1-D weights), or globs on their checkpoint names
    /// (`*.bias`), comma-separated. Recorded in the checkpoint.
    #[arg(long, value_name = "PATTERN[,PATTERN]", value_delimiter = ',')]
    no_decay: Vec<String>,
    /// Keep an exponential moving average of the weights (and batch norm's
    /// statistics) with this decay, as torch's AveragedModel; its test
    /// loss and accuracy go to metrics.csv, its weights to the checkpoint
    /// as `ema.…`. Recorded in the checkpoint.
    #[arg(long, value_name = "DECAY")]
    ema: Option<f64>,
    /// Stochastic weight averaging from this epoch (1-based) on, as torch's
    /// swa_utils: the mean of the weights at the end of each epoch, batch
    /// norm's statistics recomputed for it (update_bn); its test loss and
    /// accuracy go to metrics.csv, its weights to the checkpoint as
    /// `swa.…`. Recorded in the checkpoint.
    #[arg(long, value_name = "EPOCH")]
    swa_start: Option<usize>,
    /// With --swa-start: SWALR's rate, which every group's rate anneals to
    /// (cosine, over --swa-anneal-epochs) from the first averaged epoch,
    /// instead of the schedule. Recorded in the checkpoint.
    #[arg(long, value_name = "LR")]
    swa_lr: Option<f64>,
    /// SWALR's anneal_epochs.
    #[arg(long, value_name = "N", default_value_t = 10)]
    swa_anneal_epochs: usize,
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
        for (flag, v) in [("--clip-grad-norm", self.clip_grad_norm), ("--clip-grad-agc", self.clip_grad_agc)] {
            if let Some(v) = v.filter(|v| !(v.is_finite() && *v > 0.0)) {
                return Err(usage(format!("{flag} {v}: give a positive number")));
            }
        }
        if let Some(d) = self.ema.filter(|d| !(0.0..=1.0).contains(d)) {
            return Err(usage(format!("--ema {d}: give a decay from 0 to 1 (0.999 is common)")));
        }
        match (self.swa_start, self.swa_lr) {
            (Some(_), _) if self.ema.is_some() => {
                return Err(usage("--ema and --swa-start: a run keeps one average; give one of them"));
            }
            (Some(0), _) => return Err(usage("--swa-start 0: epochs count from 1; give the first averaged epoch")),
            (None, Some(_)) => return Err(usage("--swa-lr needs --swa-start (the epoch SWALR starts at)")),
            (_, Some(lr)) if !(lr.is_finite() && lr >= 0.0) => {
                return Err(usage(format!("--swa-lr {lr}: give a rate >= 0")));
            }
            _ => {}
        }
        if let Some(k) = self.accumulate.filter(|&k| k == 0 || k > self.batch_size) {
            return Err(usage(format!(
                "--accumulate {k}: give a number of micro-batches from 1 to --batch-size ({})",
                self.batch_size
            )));
        }
        let rules = gradus::GradientRules {
            clip_agc: self.clip_grad_agc,
            clip_norm: self.clip_grad_norm,
            skip_nonfinite: self.skip_nonfinite,
            accumulate: self.accumulate.unwrap_or(1),
        };
        gradus::autodiff::set_anomaly_mode(self.detect_anomaly);
        if self.flush_denormal && !gradus::tensor::set_flush_denormal(true) {
            return Err(usage("--flush-denormal: this CPU cannot flush subnormals (x86-64 only)"));
        }
        // An augmentation that changes nothing (`--augment ""`) is none.
        let augment = self
            .augment
            .as_deref()
            .map(|a| train::parse_augment(a, self.seed))
            .transpose()?
            .filter(|a| *a != gradus::data::Augment::new(self.seed));
        Ok(train::Run {
            source: self.source,
            model: train::model_text(&self.model)?,
            schedule: self.schedule,
            schedule_momentum: self.schedule_momentum,
            schedule_every: self.schedule_every,
            epochs: self.epochs,
            batch_size: self.batch_size,
            seed: self.seed,
            out: self.out,
            augment_text: self.augment.filter(|_| augment.is_some()),
            augment,
            overwrite: self.overwrite,
            batch_stats: match self.batch_stats {
                BatchStats::Global => gradus::BatchStats::Global,
                BatchStats::Local => gradus::BatchStats::Local,
            },
            sharpness_every: 0,
            sharpness_ggn: false,
            noise_scale_every: 0,
            trajectory_every: 0,
            flush_denormal: self.flush_denormal,
            rules,
            ema: self.ema,
            swa: self.swa_start.map(|start| (start, self.swa_lr, self.swa_anneal_epochs)),
            no_decay: {
                // As a set: the same patterns in another order are the same run.
                let set: std::collections::BTreeSet<String> =
                    self.no_decay.iter().map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect();
                set.into_iter().collect()
            },
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
        /// With --sharpness-every: the Gauss–Newton matrix's top eigenvalue
        /// too (a ggn_sharpness column, rings in sharpness.svg).
        #[arg(long)]
        sharpness_ggn: bool,
        /// Measure the gradient noise scale (per-example gradients of the
        /// step's batch) every N steps into metrics.csv.
        #[arg(long)]
        noise_scale_every: Option<usize>,
        /// Keep the parameters at the start and every N steps in
        /// trajectory.safetensors (for `gradus landscape --directions pca`).
        #[arg(long)]
        trajectory_every: Option<usize>,
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
    /// A trained text model continues a prompt: bytes drawn at a
    /// temperature from the top k, one position a byte with the
    /// key/value cache.
    Sample(sample::SampleArgs),
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
pub(crate) fn stdout() -> std::io::BufWriter<std::io::StdoutLock<'static>> {
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
                .and_then(|()| trace::trace(&function, &start, &optimizer, steps, schedule.as_deref(), format, plot))
        }
        Command::Schedule { spec, lr, steps, momentum, metrics, format, plot, overwrite } => {
            let inputs: Vec<&Path> = metrics.iter().map(PathBuf::as_path).collect();
            outputs::fresh("--plot", plot.as_deref(), &inputs, overwrite)
                .and_then(|()| schedule::schedule(&spec, lr, steps, momentum, metrics, format, plot))
        }
        Command::Hessian { function, at, format } => hessian::hessian(&function, &at, format),
        Command::Curvature(args) => curvature::curvature(&args),
        Command::LrFind(args) => lr_find::lr_find(&args),
        Command::Landscape(args) => landscape::landscape(&args),
        Command::Summary(args) => summary::summary(&args),
        Command::Sample(args) => sample::sample(&args),
        Command::Train {
            run,
            optimizer,
            resume,
            sharpness_every,
            sharpness_ggn,
            noise_scale_every,
            trajectory_every,
        } => {
            let single = |flag: &str, why: &str| {
                // Said once, by rank 0; the others stop with its code.
                if ranks.leads() {
                    Err(usage(format!("{flag}: {why}; run without mpirun to measure it")))
                } else {
                    Err(Failure::Peer(2))
                }
            };
            if resume && run.overwrite {
                Err(usage("--resume continues the run in --out and --overwrite replaces it; give one"))
            } else if sharpness_ggn && sharpness_every.is_none() {
                Err(usage("--sharpness-ggn measures with --sharpness-every N; give that too"))
            } else if sharpness_every == Some(0) {
                Err(usage("--sharpness-every must be positive (leave it out to measure no sharpness)"))
            } else if noise_scale_every == Some(0) {
                Err(usage("--noise-scale-every must be positive (leave it out to measure no noise scale)"))
            } else if trajectory_every == Some(0) {
                Err(usage("--trajectory-every must be positive (leave it out to keep no trajectory)"))
            } else if sharpness_every.is_some() && ranks.size > 1 {
                single("--sharpness-every", "sharpness is measured by one process on the whole monitoring subset")
            } else if noise_scale_every.is_some() && ranks.size > 1 {
                single("--noise-scale-every", "the noise scale is measured from one process's per-example gradients")
            } else {
                run.run().and_then(|mut r| {
                    r.sharpness_every = sharpness_every.unwrap_or(0);
                    r.sharpness_ggn = sharpness_ggn;
                    r.noise_scale_every = noise_scale_every.unwrap_or(0);
                    r.trajectory_every = trajectory_every.unwrap_or(0);
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
