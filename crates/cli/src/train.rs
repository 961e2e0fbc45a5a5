//! `gradus train` and `gradus compare`: an `mlp(...)` or `seq(...)` model trained on
//! Fashion-MNIST or MNIST, with metrics, plots and a resumable checkpoint.

use crate::Failure;
use crate::ranks::Ranks;
use gradus::data::Dataset;
use gradus::models::ModelSpec;
use gradus::prelude::*;
use gradus::run::RunDir;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The options both commands share.
pub struct Run {
    pub source: crate::source::Source,
    pub model: String,
    pub schedule: Option<String>,
    pub schedule_every: Every,
    /// `--schedule-momentum SPEC`.
    pub schedule_momentum: Option<String>,
    pub epochs: usize,
    pub batch_size: usize,
    pub seed: u64,
    pub out: PathBuf,
    pub augment: Option<gradus::data::Augment>,
    /// `--augment` as written, recorded in the checkpoint.
    pub augment_text: Option<String>,
    /// Replace a run already in `out` instead of refusing.
    pub overwrite: bool,
    /// Batch norm's statistics in a run of several processes.
    pub batch_stats: gradus::BatchStats,
    /// Measure sharpness every this many steps (0: never).
    pub sharpness_every: usize,
    /// The Gauss–Newton matrix's sharpness too.
    pub sharpness_ggn: bool,
    /// Measure the gradient noise scale every this many steps (0: never).
    pub noise_scale_every: usize,
    /// Keep the parameters every this many steps (0: never).
    pub trajectory_every: usize,
    /// Subnormal floats flushed to zero (`--flush-denormal`).
    pub flush_denormal: bool,
    /// `--clip-grad-norm`, `--clip-grad-agc`, `--skip-nonfinite`, `--accumulate`.
    pub rules: gradus::GradientRules,
    /// `--no-decay` patterns.
    pub no_decay: Vec<String>,
    /// `--ema DECAY`.
    pub ema: Option<f64>,
    /// `--swa-start`, `--swa-lr`, `--swa-anneal-epochs`.
    pub swa: Option<(usize, Option<f64>, usize)>,
}

/// `--augment "crop=2, flip=true, mean=0.286, std=0.353"`: a random crop
/// from the image padded by `crop` zeros, a horizontal flip with
/// probability ½, then (x − mean)/std; mean and std are one number per
/// channel. Draws come from (seed, epoch, example index).
pub fn parse_augment(text: &str, seed: u64) -> Result<gradus::data::Augment, Failure> {
    let spec: gradus::spec::Spec = format!("augment({text})").parse().map_err(crate::usage)?;
    let mut args = spec.args(&["crop", "flip", "mean", "std"]).map_err(crate::usage)?;
    let mut a = gradus::data::Augment::new(seed);
    if args.get("crop").is_some() {
        a = a.crop(args.usize("crop").map_err(crate::usage)?);
    }
    if args.bool_or("flip", false).map_err(crate::usage)? {
        a = a.flip();
    }
    let per_channel = |args: &mut gradus::spec::Args, key: &str| -> Result<Option<Vec<f64>>, Failure> {
        match args.get(key) {
            None => Ok(None),
            Some(gradus::spec::Value::Number(x)) => Ok(Some(vec![*x])),
            Some(_) => args.numbers(key).map(Some).map_err(crate::usage),
        }
    };
    match (per_channel(&mut args, "mean")?, per_channel(&mut args, "std")?) {
        (Some(m), Some(s)) => {
            // Images are normalised in f32: each std must stay positive and
            // each value finite there.
            if let Some(bad) = s.iter().find(|s| !(**s as f32 > 0.0 && (**s as f32).is_finite())) {
                return Err(crate::usage(format!("--augment: std must be positive and finite in f32, got {bad:e}")));
            }
            if let Some(bad) = m.iter().find(|m| !(**m as f32).is_finite()) {
                return Err(crate::usage(format!("--augment: mean must be finite in f32, got {bad:e}")));
            }
            if m.len() != s.len() {
                return Err(crate::usage(format!(
                    "--augment: {} means and {} standard deviations; give one of each per channel",
                    m.len(),
                    s.len()
                )));
            }
            a = a.normalize(m, s);
        }
        (None, None) => {}
        _ => return Err(crate::usage("--augment: give mean and std together")),
    }
    Ok(a)
}

/// An `mlp(...)` or `seq(...)` spec (see `gradus::models`); bad specs exit 2.
pub fn parse_model(text: &str) -> Result<ModelSpec, Failure> {
    ModelSpec::parse(text).map_err(crate::usage)
}

/// The spec a `--model` argument gives: the argument itself, or for
/// `@FILE` the file's text with `#` comments cut and lines joined (the
/// one-line spec is what a checkpoint records). A file that cannot be
/// read, or is empty, exits 2.
pub fn model_text(arg: &str) -> Result<String, Failure> {
    let Some(path) = arg.strip_prefix('@') else { return Ok(arg.to_string()) };
    let text = std::fs::read_to_string(path)
        .map_err(|e| crate::usage(format!("--model @{path}: cannot read the file: {e}")))?;
    let spec = ModelSpec::from_file_text(&text).map_err(|e| crate::usage(format!("--model @{path}: {e}")))?;
    Ok(spec.text().to_string())
}

/// Train, monitoring subset and test sets, scaled to [0, 1] and shaped as
/// `model` takes them (flattened, or `[1, 28, 28]`); the model is checked
/// against them (exit 2 naming the misfit) before anything is trained.
fn load(run: &Run, model: &ModelSpec) -> Result<crate::source::Splits, Failure> {
    if run.augment.is_some() && run.source.is_text() {
        return Err(crate::usage("--augment transforms images; --data text has none"));
    }
    if run.augment.is_some() && model.input_shape(&[28, 28]).len() < 2 {
        return Err(crate::usage(
            "--augment needs image inputs; this model takes them flattened (it starts with linear)",
        ));
    }
    let channels = model.input_shape(&[28, 28])[0];
    if let Some(k) = run.augment.as_ref().and_then(|a| a.normalized_channels())
        && k != channels
    {
        return Err(crate::usage(format!(
            "--augment: mean and std give {k} values each; the images have {channels} channel(s), one value each"
        )));
    }
    crate::source::datasets(&run.source, model, run.seed, run.batch_size)
}

/// Checks that `model` can train on batches of `batch` examples of `train`
/// and says whether each epoch's last, smaller batch must be left out.
/// Batch norm in training needs more than one value per channel (as
/// PyTorch, which raises "Expected more than 1 value per channel"): a full
/// batch that gives one is refused (exit 2); a last batch that does (one
/// example left over, its plane pooled to 1 × 1 or flattened) is dropped
/// every epoch, said once on stderr. `per_process` is how many processes
/// share a batch with statistics of their own (`--batch-stats local`), else 1.
pub fn check_batches(
    model: &ModelSpec,
    train: &dyn Dataset,
    batch: usize,
    seed: u64,
    per_process: usize,
) -> Result<bool, Failure> {
    let built = model.build::<f32>(seed);
    let example = train.feature_shape();
    let check = |n: usize| model.check_batch(&built, &example, n / per_process);
    check(batch).map_err(|e| {
        let shard = if per_process > 1 {
            format!(
                " (with --batch-stats local each of the {per_process} processes normalises its own {} examples)",
                batch / per_process
            )
        } else {
            String::new()
        };
        crate::usage(format!(
            "{e}: give a --batch-size that leaves each batch norm more than one value per channel{shard}"
        ))
    })?;
    let last = train.len() % batch;
    if last == 0 {
        return Ok(false);
    }
    match check(last) {
        Ok(()) => Ok(false),
        Err(e) => {
            crate::note(&format!(
                "note: the last batch of each epoch ({last} of {} examples) is left out: {e}",
                train.len()
            ));
            Ok(true)
        }
    }
}

/// The optimiser, or exit 2; `newton` and `lbfgs` re-evaluate the loss at
/// every step and are refused in their own words.
pub fn optimizer(spec: &str) -> Result<Box<dyn gradus::optim::UpdateRule<f32>>, Failure> {
    let name = spec.split('(').next().unwrap_or("").trim();
    if name == "newton" || name == "lbfgs" {
        let first_order: Vec<&str> =
            gradus::optim::NAMES.iter().copied().filter(|n| *n != "newton" && *n != "lbfgs").collect();
        return Err(crate::usage(format!(
            "{spec}: {name} re-evaluates the loss several times a step, which `gradus trace` does on its test functions; mini-batch training takes {}",
            first_order.join(", ")
        )));
    }
    gradus::optim::parse::<f32>(spec).map_err(crate::usage)
}

/// The driver of `spec` for `model`. A method that leaves some tensors to
/// a fallback optimiser (Muon) also gives it the network's first and last
/// layers — the first and the last parameter of two or more dimensions: an
/// embedding or input layer, the output layer — as the Muon authors advise.
///
/// Parameters matching a `no_decay` pattern (see [`no_decay_matches`]) go
/// to a group whose optimiser is `spec` with weight decay 0.
pub fn optimizer_for(spec: &str, model: &dyn Module<f32>, no_decay: &[String]) -> Result<Optimizer<f32>, Failure> {
    use std::collections::BTreeSet;
    let mut optim = Optimizer::boxed(self::optimizer(spec)?);
    let params = model.named_parameters();
    let mut plain: BTreeSet<u64> = BTreeSet::new();
    for pattern in no_decay {
        let matched: Vec<u64> =
            params.iter().filter(|(n, p)| no_decay_matches(pattern, n, &p.shape())).map(|(_, p)| p.id().0).collect();
        if matched.is_empty() {
            let names: Vec<&str> = params.iter().map(|(n, _)| n.as_str()).collect();
            return Err(crate::usage(format!(
                "--no-decay {pattern}: matches no parameter; the model's are {} (patterns: bias, norm, or a glob with * and ?)",
                names.join(", ")
            )));
        }
        plain.extend(matched);
    }
    let undecayed = if plain.is_empty() {
        None
    } else {
        Some(gradus::optim::without_weight_decay(spec).map_err(|e| crate::usage(format!("--no-decay: {e}")))?)
    };
    if let Some(fallback) = gradus::optim::fallback_of::<f32>(spec).map_err(crate::usage)? {
        let weights: Vec<u64> = params.iter().filter(|(_, p)| p.shape().len() >= 2).map(|(_, p)| p.id().0).collect();
        let edges: BTreeSet<u64> = weights.first().into_iter().chain(weights.last()).copied().collect();
        if let Some(text) = &undecayed {
            let plain_fallback = gradus::optim::fallback_of::<f32>(text).map_err(crate::usage)?.expect("still muon");
            optim.add_group(plain_fallback, None, edges.intersection(&plain).copied());
        }
        optim.add_group(fallback, None, edges.difference(&plain).copied().collect::<Vec<_>>());
        plain.retain(|k| !edges.contains(k));
    }
    if let Some(text) = &undecayed {
        optim.add_group(self::optimizer(text)?, None, plain);
    }
    Ok(optim)
}

/// Whether `--no-decay PATTERN` takes the parameter `name` of this shape:
/// `bias` every bias; `norm` every other one-dimensional parameter (the
/// scales of normalisation layers, and PReLU's slopes), as timm's rule of
/// no decay for biases and 1-D parameters; anything else a glob on the
/// parameter's name as the checkpoint writes it after `model.` (`*` any
/// run of characters, `?` one).
pub fn no_decay_matches(pattern: &str, name: &str, shape: &[usize]) -> bool {
    let is_bias = name == "bias" || name.ends_with(".bias");
    match pattern {
        "bias" => is_bias,
        "norm" => !is_bias && shape.len() == 1,
        glob => glob_matches(glob.as_bytes(), name.as_bytes()),
    }
}

/// `*` and `?` wildcards over the whole of `text`.
fn glob_matches(pattern: &[u8], text: &[u8]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((b'*', rest)) => (0..=text.len()).any(|i| glob_matches(rest, &text[i..])),
        Some((b'?', rest)) => !text.is_empty() && glob_matches(rest, &text[1..]),
        Some((c, rest)) => text.first() == Some(c) && glob_matches(rest, &text[1..]),
    }
}

fn trainer(run: &Run, optimizer: &str, model: &dyn Module<f32>) -> Result<Trainer<f32>, Failure> {
    let mut t = Trainer::new(optimizer_for(optimizer, model, &run.no_decay)?);
    let every = run.schedule_every;
    if let Some(spec) = run.schedule.as_deref() {
        let schedule = gradus::sched::parse(spec).map_err(crate::usage)?;
        t = t
            .with_schedule(schedule, every)
            .map_err(|e| crate::usage(format!("--schedule {spec} --schedule-every {every}: {e}")))?;
    }
    if let Some(spec) = run.schedule_momentum.as_deref() {
        let schedule = gradus::sched::parse(spec).map_err(crate::usage)?;
        t = t
            .with_momentum_schedule(schedule, every)
            .map_err(|e| crate::usage(format!("--schedule-momentum {spec} ({optimizer}): {e}")))?;
    }
    Ok(t)
}

/// Trains one model with `optimizer`, writing `metrics.csv`, `learning_curve.svg`
/// and `checkpoint.safetensors` into `dir` after every epoch.
fn train_one(
    run: &Run,
    optimizer: &str,
    dir: &Path,
    resume: bool,
    data: &crate::source::Splits,
    ranks: &Ranks,
) -> Result<Vec<EpochMetrics>, Failure> {
    // Rank 0 holds the directory; every rank builds the model and reads
    // the checkpoint; all go on only if all succeeded.
    let setup = || -> Result<_, Failure> {
        // Specs first: a refused one leaves the directory untouched.
        let model = parse_model(&run.model)?.build::<f32>(run.seed);
        let mut t = configured(trainer(run, optimizer, &model)?, run, optimizer, ranks);
        let mut run_dir = RunDir::new(dir, optimizer);
        if ranks.leads() {
            run_dir.lock()?;
            if !resume {
                run_dir
                    .claim(run.overwrite)
                    .map_err(|e| occupied(e, "pass --resume to continue it or --overwrite to replace it"))?;
            }
        }
        if resume {
            resumed(run, &mut run_dir, &model, &mut t, ranks)?;
        }
        Ok((run_dir, model, t))
    };
    let (mut run_dir, model, mut t) = ranks.agree(setup())?;
    let (rank, size) = (ranks.rank, ranks.size);
    let per_process = if run.batch_stats == gradus::BatchStats::Local { size } else { 1 };
    let drop_last = ranks.agree(check_batches(
        &parse_model(&run.model)?,
        data.0.as_ref(),
        run.batch_size,
        run.seed,
        per_process,
    ))?;
    let mut train = DataLoader::new(Arc::clone(&data.0), run.batch_size)
        .shuffle(run.seed)
        .drop_last(drop_last)
        .workers(1)
        .shard(rank, size);
    if let Some(a) = &run.augment {
        train = train.augment(a.clone());
    }
    let (mut monitor, mut test) = (
        DataLoader::new(Arc::clone(&data.1), 1000).shard(rank, size),
        DataLoader::new(Arc::clone(&data.2), 1000).shard(rank, size),
    );
    if let Some(a) = &run.augment {
        // Evaluation data is normalised alike, never cropped or flipped.
        (monitor, test) = (monitor.augment(a.deterministic()), test.augment(a.deterministic()));
    }
    let loss = CrossEntropy::default();
    schedule_fits(run, &t, train.len(0))?;
    while t.epochs() < run.epochs {
        // A progress bar on a terminal; otherwise the plain line per epoch below.
        let bar = crate::progress::Progress::new(
            train.len(t.epochs() as u64),
            &format!("epoch {}/{}", t.epochs() + 1, run.epochs),
            "batches",
        );
        let mut on_batch = |done: usize, _total: usize, value: f64| {
            bar.set(done);
            bar.message(format!("loss {value:.4}"));
        };
        let result =
            t.epoch_with(&model, &loss, &Loaders { train: &train, monitor: &monitor, test: &test }, &mut on_batch);
        drop(bar);
        let m = match result {
            Ok(m) => m,
            Err(e @ (gradus::GradusError::Diverged { .. } | gradus::GradusError::Peer { code: 3, .. })) => {
                // The figure shows the epochs that were finite; the
                // checkpoint and metrics.csv are those of the last of them.
                // A fresh run with no finite epoch leaves no file of a run.
                if ranks.leads() {
                    run_dir.plot()?;
                }
                if let gradus::GradusError::Peer { code, .. } = e {
                    return Err(Failure::Peer(code));
                }
                let kept = if t.epochs() == 0 && !resume {
                    "no epoch finished, so nothing was saved".to_string()
                } else {
                    format!("{} holds the last finite epoch", run_dir.checkpoint().display())
                };
                return Err(Failure::Diverged(format!("{optimizer}: {e}; {kept}")));
            }
            Err(e) => return Err(e.into()),
        };
        crate::note(&format!(
            "{optimizer}: epoch {}/{}: train loss {:.4}, test loss {:.4}, test accuracy {:.4} ({:.1} s, {:.0} samples/s)",
            m.epoch,
            run.epochs,
            m.train_loss,
            m.test_loss,
            m.test_accuracy,
            m.seconds,
            data.0.len() as f64 / m.seconds
        ));
        run_dir.push(m);
        // Every rank has finished the epoch (its end is collective); rank 0
        // writes, and the others learn whether that worked.
        let saved = if ranks.leads() { run_dir.save(&t, &model).map_err(Failure::from) } else { Ok(()) };
        ranks.agree(saved)?;
    }
    if ranks.leads() {
        run_dir.plot()?;
    }
    Ok(run_dir.metrics().to_vec())
}

/// The trainer's recorded configuration: what a resume must match (specs
/// by meaning, not spelling) and what it may change (the process count).
fn configured(mut t: Trainer<f32>, run: &Run, optimizer: &str, ranks: &Ranks) -> Trainer<f32> {
    if let Some(r) = ranks.replicas() {
        t = t.replicated(r, run.batch_stats);
    }
    if run.sharpness_every > 0 {
        t = t.with_sharpness(run.sharpness_every).record("sharpness_every", &run.sharpness_every.to_string());
        if run.sharpness_ggn {
            t = t.with_ggn_sharpness().record("sharpness_ggn", "true");
        }
    }
    if run.trajectory_every > 0 {
        t = t.with_trajectory(run.trajectory_every).record("trajectory_every", &run.trajectory_every.to_string());
    }
    if run.noise_scale_every > 0 {
        t = t.with_noise_scale(run.noise_scale_every).record("noise_scale_every", &run.noise_scale_every.to_string());
    }
    if run.flush_denormal {
        t = t.record("flush_denormal", "true");
    }
    // Each rule is recorded only when given, so a run made before the
    // flag existed resumes as one without it.
    let r = run.rules;
    for (key, value) in [
        ("clip_grad_norm", r.clip_norm.map(|v| v.to_string())),
        ("clip_grad_agc", r.clip_agc.map(|v| v.to_string())),
        ("skip_nonfinite", r.skip_nonfinite.map(|v| v.to_string())),
        ("accumulate", (r.accumulate > 1).then(|| r.accumulate.to_string())),
        ("no_decay", (!run.no_decay.is_empty()).then(|| run.no_decay.join(","))),
        ("ema", run.ema.map(|d| d.to_string())),
        ("swa_start", run.swa.map(|s| s.0.to_string())),
        ("swa_lr", run.swa.and_then(|s| s.1).map(|lr| lr.to_string())),
        ("swa_anneal_epochs", run.swa.filter(|s| s.1.is_some()).map(|s| s.2.to_string())),
    ] {
        if let Some(v) = value {
            t = t.record(key, &v);
        }
    }
    t = t.with_gradient_rules(r).expect("the flags were checked when parsed");
    if let Some(decay) = run.ema {
        t = t.with_ema(decay).expect("the decay was checked when parsed");
    }
    if let Some((start, lr, anneal)) = run.swa {
        t = t.with_swa(start, lr, anneal).expect("the flags were checked when parsed");
    }
    if let Some((files, context)) = run.source.text_record() {
        t = t.record("text", &files).record("context", &context).bits_per_byte();
    }
    let same_model = |a: &str, b: &str| matches!((ModelSpec::parse(a), ModelSpec::parse(b)), (Ok(a), Ok(b)) if a == b);
    let same_optimizer = |a: &str, b: &str| same_debug(a, b, self::optimizer);
    let same_schedule = |a: &str, b: &str| same_debug(a, b, |s| gradus::sched::parse(s).map_err(crate::usage));
    // The seed is compared on its own; augmentations of one text differ
    // only by it.
    let same_augment = |a: &str, b: &str| same_debug(a, b, |s| parse_augment(s, 0));
    if let Some(spec) = &run.schedule_momentum {
        t = t.record_meaning("schedule_momentum", spec, same_schedule);
    }
    t.record_meaning("model", &run.model, same_model)
        .record_meaning("optimizer", optimizer, same_optimizer)
        .record_meaning("schedule", run.schedule.as_deref().unwrap_or("none"), same_schedule)
        .record("schedule_every", &run.schedule_every.to_string())
        .record("seed", &run.seed.to_string())
        .record("batch_size", &run.batch_size.to_string())
        .record("data", &run.source.data)
        .record_meaning("augment", run.augment_text.as_deref().unwrap_or("none"), same_augment)
        .note("world_size", &ranks.size.to_string())
}

/// Whether `a` and `b` parse to the same thing (`none` to nothing).
fn same_debug<P: std::fmt::Debug>(a: &str, b: &str, parse: impl Fn(&str) -> Result<P, Failure>) -> bool {
    let meaning =
        |s: &str| if s == "none" { Some("none".to_string()) } else { parse(s).ok().map(|p| format!("{p:?}")) };
    matches!((meaning(a), meaning(b)), (Some(a), Some(b)) if a == b)
}

/// A fresh run into a directory holding one: exit 2, saying what to do
/// (`advice`).
fn occupied(e: gradus::GradusError, advice: &str) -> Failure {
    match e {
        gradus::GradusError::Occupied { dir, files } => {
            crate::usage(format!("{dir} already holds a run ({}); {advice}", files.join(", ")))
        }
        other => other.into(),
    }
}

/// A recorded setting that differs, worded by its flag (`flush_denormal`
/// is `--flush-denormal`; the process count is never compared).
fn flag_difference(d: &gradus::Difference) -> String {
    let flag = format!("--{}", d.key.replace('_', "-"));
    let given = |v: &str| match v {
        "true" => flag.clone(),
        "none" => format!("no {flag}"),
        v if v.contains(' ') => format!("{flag} \"{v}\""),
        v => format!("{flag} {v}"),
    };
    match (&d.saved, &d.this) {
        (Some(s), Some(t)) => format!("the run was made with {}, this one gives {}", given(s), given(t)),
        (Some(s), None) => format!("the run was made with {}; give {}", given(s), given(s)),
        (None, t) => format!("the run was made without {flag}, this one gives {}", given(t.as_deref().unwrap_or(""))),
    }
}

/// `t` and the history in `run_dir`, resumed from its checkpoint (exit 2
/// for one of another configuration or model, or a corrupt one; nothing
/// is changed then). A run may resume on another number of processes:
/// the global batches are the same, and the log says so.
fn resumed(
    run: &Run,
    run_dir: &mut RunDir,
    model: &dyn gradus::nn::Module<f32>,
    t: &mut Trainer<f32>,
    ranks: &Ranks,
) -> Result<(), Failure> {
    let ck = run_dir.resume(t, model).map_err(|e| match e {
        gradus::GradusError::OtherRun { path, differences } => {
            let lines: Vec<String> = differences.iter().map(flag_difference).collect();
            crate::usage(format!(
                "--resume: {path} is a run made with other settings than this one's:\n  {}\ngive the run's own settings to resume it, or start afresh with --overwrite",
                lines.join("\n  ")
            ))
        }
        other if other.exit_code() == 2 => crate::usage(format!("--resume: {other}")),
        other => other.into(),
    })?;
    let before = ck.metadata("config.world_size").unwrap_or("1").to_string();
    if before != ranks.size.to_string() {
        crate::note(&format!(
            "resuming a run of {before} process(es) on {}: the same global batches, so the same run up to float summation order",
            ranks.size
        ));
    }
    if t.epochs() > run.epochs {
        return Err(crate::usage(format!(
            "--resume: the run in {} has {} epochs already, more than --epochs {}",
            run_dir.path().display(),
            t.epochs(),
            run.epochs
        )));
    }
    Ok(())
}

/// Refuses a run longer than its schedule (onecycle's total_steps), before
/// the first step.
fn schedule_fits(run: &Run, t: &Trainer<f32>, batches: usize) -> Result<(), Failure> {
    let Some((last, every)) = t.schedule_end() else { return Ok(()) };
    let (needed, takes) = if every == Every::Batch {
        let n = run.epochs * batches;
        (n, format!("{} epochs of {batches} batches take {n} steps", run.epochs))
    } else {
        (run.epochs, format!("the run takes {} epochs (it steps once an epoch)", run.epochs))
    };
    if needed > last {
        return Err(crate::usage(format!(
            "--schedule {}: it ends after {last} {}, and {takes}; give it total_steps={needed}",
            run.schedule.as_deref().unwrap_or(""),
            if every == Every::Batch { "steps" } else { "epochs" }
        )));
    }
    Ok(())
}

/// `gradus train`.
pub fn train(run: &Run, optimizer: &str, resume: bool, ranks: &Ranks) -> Result<(), Failure> {
    let data = ranks.agree(load_for(run, ranks))?;
    train_one(run, optimizer, &run.out, resume, &data, ranks)?;
    if ranks.leads() {
        crate::say(&format!("wrote {}\n", run.out.display()))?;
    }
    Ok(())
}

/// [`load`], and for several processes the checks that the global batch
/// splits over them: `--batch-size` divisible by their number, and a last
/// batch with an example for each.
fn load_for(run: &Run, ranks: &Ranks) -> Result<crate::source::Splits, Failure> {
    if !run.batch_size.is_multiple_of(ranks.size) {
        return Err(crate::usage(format!(
            "--batch-size {} is the global batch and must be divisible by the {} processes; give a multiple of {}",
            run.batch_size, ranks.size, ranks.size
        )));
    }
    let data = load(run, &parse_model(&run.model)?)?;
    let last = data.0.len() % run.batch_size;
    if last != 0 && last < ranks.size {
        return Err(crate::usage(format!(
            "the last batch of an epoch holds {last} of {} examples, fewer than the {} processes; choose a --batch-size that leaves at least {} (or none)",
            data.0.len(),
            ranks.size,
            ranks.size
        )));
    }
    Ok(data)
}

/// `gradus compare`: the same model from the same initial weights with each
/// optimiser, ranked by test accuracy, one plot of all learning curves.
pub fn compare(run: &Run, optimizers: &str, ranks: &Ranks) -> Result<(), Failure> {
    let specs: Vec<&str> = optimizers.split(';').map(str::trim).filter(|s| !s.is_empty()).collect();
    if specs.is_empty() {
        return Err(crate::usage("--optimizers: give specs separated by `;`"));
    }
    for s in &specs {
        optimizer(s)?;
    }
    let hold = || -> Result<_, Failure> {
        if !ranks.leads() {
            return Ok(None);
        }
        // The directory of the runs, held as one; removed again if this
        // created it and no run saved anything.
        let mut all = RunDir::new(&run.out, "compare");
        all.lock()?;
        // Every run's directory is checked before the first trains, so an
        // exit 2 leaves all of them as they were.
        let taken = |e| occupied(e, "give --overwrite to replace it, or another --out");
        for i in 0..specs.len() {
            RunDir::new(run.out.join(format!("{i}")), specs[i]).check_free(run.overwrite).map_err(taken)?;
        }
        let curves = gradus::run::free(&run.out, &["learning_curves.svg"], run.overwrite).map_err(taken)?;
        gradus::run::remove(&run.out, &curves)?;
        Ok(Some(all))
    };
    let all = ranks.agree(hold())?;
    let data = ranks.agree(load_for(run, ranks))?;
    // An optimiser whose run diverges does not stop the others: it ranks
    // last with empty numbers, and the command ends with exit 3.
    let mut results = Vec::new();
    let mut diverged = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        let trained = train_one(run, spec, &run.out.join(format!("{i}")), false, &data, ranks);
        if let (Some(all), Ok(m)) = (&all, &trained)
            && !m.is_empty()
        {
            all.keep();
        }
        match trained {
            Ok(metrics) => results.push((spec.to_string(), metrics)),
            Err(Failure::Diverged(msg)) => {
                crate::shout(&if ranks.size > 1 {
                    format!("gradus: rank {}: {msg}", ranks.rank)
                } else {
                    format!("gradus: {msg}")
                });
                diverged.push(spec.to_string());
            }
            // Another rank's run diverged (it said so): every rank goes on.
            Err(Failure::Peer(3)) => diverged.push(spec.to_string()),
            Err(other) => return Err(other),
        }
    }
    let mut ranked: Vec<_> = results.iter().collect();
    ranked.sort_by(|a, b| {
        let acc = |r: &&(String, Vec<EpochMetrics>)| r.1.last().map_or(0.0, |m| m.test_accuracy);
        acc(b).total_cmp(&acc(a))
    });
    let mut table = String::from("rank,optimizer,test_accuracy,test_loss\n");
    for (i, (spec, m)) in ranked.iter().enumerate() {
        let last = m.last().expect("a finished run has epochs");
        table.push_str(&format!("{},\"{spec}\",{},{}\n", i + 1, last.test_accuracy, last.test_loss));
    }
    for (i, spec) in diverged.iter().enumerate() {
        table.push_str(&format!("{},\"{spec}\",,\n", ranked.len() + i + 1));
    }
    if ranks.leads() {
        crate::say(&table)?;
        gradus::plot::learning_curves(&run.out.join("learning_curves.svg"), &results)?;
    }
    if diverged.is_empty() {
        Ok(())
    } else {
        Err(Failure::Diverged(format!("{} of {} runs diverged: {}", diverged.len(), specs.len(), diverged.join("; "))))
    }
}
