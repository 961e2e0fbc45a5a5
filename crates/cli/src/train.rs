//! `gradus train` and `gradus compare`: an `mlp(...)` or `seq(...)` model trained on
//! Fashion-MNIST or MNIST, with metrics, plots and a resumable checkpoint.

use crate::Failure;
use gradus::data::{Dataset, InMemory, Subset};
use gradus::models::ModelSpec;
use gradus::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The options both commands share.
pub struct Run {
    pub data: String,
    pub data_dir: Option<PathBuf>,
    pub model: String,
    pub schedule: Option<String>,
    pub schedule_every: Every,
    pub epochs: usize,
    pub batch_size: usize,
    pub seed: u64,
    pub out: PathBuf,
    pub augment: Option<gradus::data::Augment>,
    /// `--augment` as written, recorded in the checkpoint.
    pub augment_text: Option<String>,
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
            if let Some(bad) = s.iter().find(|s| s.is_nan() || **s <= 0.0) {
                return Err(crate::usage(format!("--augment: std must be positive, got {bad}")));
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

/// Train, monitoring subset and test sets.
type Splits = (Arc<dyn Dataset>, Arc<dyn Dataset>, Arc<dyn Dataset>);

/// Train, monitoring subset and test sets, scaled to [0, 1] and shaped as
/// `model` takes them (flattened, or `[1, 28, 28]`); the model is checked
/// against them (exit 2 naming the misfit) before anything is trained.
fn load(run: &Run, model: &ModelSpec) -> Result<Splits, Failure> {
    let which = match run.data.as_str() {
        "fashion-mnist" => mnist::Mnist::Fashion,
        "mnist" => mnist::Mnist::Digits,
        other => return Err(crate::usage(format!("unknown dataset `{other}`; accepted: fashion-mnist, mnist"))),
    };
    let (train, test) = mnist::load(which, run.data_dir.as_deref()).map_err(|e| {
        crate::usage(format!("{e}\n(Debian/Ubuntu: sudo apt-get install dataset-fashion-mnist; or pass --data-dir with the four *-ubyte.gz files)"))
    })?;
    let example = train.feature_shape();
    let classes = which.classes().len();
    model.check(&model.build::<f32>(run.seed), &example, classes).map_err(crate::usage)?;
    let shape = model.input_shape(&example);
    if run.augment.is_some() && shape.len() < 2 {
        return Err(crate::usage(
            "--augment needs image inputs; this model takes them flattened (it starts with linear)",
        ));
    }
    let prep = |d: InMemory| -> Arc<dyn Dataset> {
        Arc::new(transforms::reshape(Arc::new(transforms::scale_u8(Arc::new(d))), shape.clone()))
    };
    let (train, test) = (prep(train), prep(test));
    let monitor: Arc<dyn Dataset> = Arc::new(Subset::new(Arc::clone(&train), (0..5000.min(train.len())).collect())?);
    Ok((train, monitor, test))
}

fn schedule(run: &Run) -> Result<Option<Schedule>, Failure> {
    Ok(match run.schedule.as_deref().map(gradus::sched::parse).transpose().map_err(crate::usage)? {
        Some(gradus::sched::Schedule::Steps(s)) => Some(Schedule::Steps(s, run.schedule_every)),
        Some(gradus::sched::Schedule::Plateau(o)) => {
            Some(Schedule::Plateau(gradus::sched::ReduceOnPlateau::new(1.0, o)?))
        }
        None => None,
    })
}

fn trainer(run: &Run, optimizer: &str) -> Result<Trainer<f32>, Failure> {
    let optim = Optim::boxed(gradus::optim::parse::<f32>(optimizer).map_err(crate::usage)?);
    let lr = optim.groups()[0].lr;
    let mut t = Trainer::new(optim);
    if let Some(s) = schedule(run)? {
        let s = match s {
            Schedule::Plateau(p) => Schedule::Plateau(gradus::sched::ReduceOnPlateau::new(lr, p.options())?),
            other => other,
        };
        t = t.with_schedule(s);
    }
    Ok(t)
}

fn write(path: &Path, text: &str) -> Result<(), Failure> {
    std::fs::write(path, text).map_err(|e| Failure::Run(format!("{}: {e}", path.display())))
}

/// Trains one model with `optimizer`, writing `metrics.csv`, `learning_curve.svg`
/// and `checkpoint.safetensors` into `dir` after every epoch.
fn train_one(
    run: &Run,
    optimizer: &str,
    dir: &Path,
    resume: bool,
    data: &Splits,
) -> Result<Vec<EpochMetrics>, Failure> {
    std::fs::create_dir_all(dir).map_err(|e| Failure::Run(format!("{}: {e}", dir.display())))?;
    let model = parse_model(&run.model)?.build::<f32>(run.seed);
    let mut t = trainer(run, optimizer)?
        .record("model", &run.model)
        .record("optimizer", optimizer)
        .record("schedule", run.schedule.as_deref().unwrap_or("none"))
        .record("schedule_every", if run.schedule_every == Every::Batch { "batch" } else { "epoch" })
        .record("seed", &run.seed.to_string())
        .record("batch_size", &run.batch_size.to_string())
        .record("data", &run.data)
        .record("augment", run.augment_text.as_deref().unwrap_or("none"))
        .record("world_size", "1");
    let checkpoint = dir.join("checkpoint.safetensors");
    let csv = dir.join("metrics.csv");
    let mut rows: Vec<String> = Vec::new();
    if resume {
        // A checkpoint of another configuration or model is bad input.
        t.resume(&model, &checkpoint).map_err(|e| match e {
            gradus::GradusError::Nn(gradus::nn::NnError::Mismatch { .. }) => crate::usage(e),
            other => Failure::Run(other.to_string()),
        })?;
        let text = std::fs::read_to_string(&csv).map_err(|e| Failure::Run(format!("{}: {e}", csv.display())))?;
        rows = text.lines().take(t.epochs() + 1).map(str::to_string).collect();
    }
    let mut train = DataLoader::new(Arc::clone(&data.0), run.batch_size).shuffle(run.seed).workers(1);
    if let Some(a) = &run.augment {
        train = train.augment(a.clone());
    }
    let (mut monitor, mut test) =
        (DataLoader::new(Arc::clone(&data.1), 1000), DataLoader::new(Arc::clone(&data.2), 1000));
    if let Some(a) = &run.augment {
        // Evaluation data is normalised alike, never cropped or flipped.
        (monitor, test) = (monitor.augment(a.deterministic()), test.augment(a.deterministic()));
    }
    let loss = CrossEntropy::default();
    let mut all = Vec::new();
    // A progress bar on a terminal; otherwise the plain line per epoch below.
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
    while t.epochs() < run.epochs {
        let bar = terminal.then(|| {
            let bar = indicatif::ProgressBar::new(train.len(t.epochs() as u64) as u64);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "epoch {prefix} [{bar:30}] {pos}/{len} batches, loss {msg}, {per_sec}",
                )
                .expect("a valid template")
                .progress_chars("=> "),
            );
            bar.set_prefix(format!("{}/{}", t.epochs() + 1, run.epochs));
            bar
        });
        let mut on_batch = |done: usize, _total: usize, value: f64| {
            if let Some(b) = &bar {
                b.set_position(done as u64);
                b.set_message(format!("{value:.4}"));
            }
        };
        let m = t.epoch_with(&model, &loss, &train, &monitor, &test, &mut on_batch)?;
        if let Some(b) = bar {
            b.finish_and_clear();
        }
        eprintln!(
            "{optimizer}: epoch {}/{}: train loss {:.4}, test loss {:.4}, test accuracy {:.4} ({:.1} s, {:.0} samples/s)",
            m.epoch,
            run.epochs,
            m.train_loss,
            m.test_loss,
            m.test_accuracy,
            m.seconds,
            data.0.len() as f64 / m.seconds
        );
        if rows.is_empty() {
            rows.push(m.csv_header());
        }
        rows.push(m.csv_row());
        write(&csv, &(rows.join("\n") + "\n"))?;
        t.save(&model, &checkpoint)?;
        all.push(m);
    }
    gradus::plot::learning_curves(&dir.join("learning_curve.svg"), &[(optimizer.to_string(), all.clone())])?;
    Ok(all)
}

/// `gradus train`.
pub fn train(run: &Run, optimizer: &str, resume: bool) -> Result<(), Failure> {
    let data = load(run, &parse_model(&run.model)?)?;
    train_one(run, optimizer, &run.out, resume, &data)?;
    println!("wrote {}", run.out.display());
    Ok(())
}

/// `gradus compare`: the same model from the same initial weights with each
/// optimiser, ranked by test accuracy, one plot of all learning curves.
pub fn compare(run: &Run, optimizers: &str) -> Result<(), Failure> {
    let specs: Vec<&str> = optimizers.split(';').map(str::trim).filter(|s| !s.is_empty()).collect();
    if specs.is_empty() {
        return Err(crate::usage("--optimizers: give specs separated by `;`"));
    }
    for s in &specs {
        gradus::optim::parse::<f32>(s).map_err(crate::usage)?;
    }
    let data = load(run, &parse_model(&run.model)?)?;
    let mut results = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        let metrics = train_one(run, spec, &run.out.join(format!("{i}")), false, &data)?;
        results.push((spec.to_string(), metrics));
    }
    let mut ranked: Vec<_> = results.iter().collect();
    ranked.sort_by(|a, b| {
        let acc = |r: &&(String, Vec<EpochMetrics>)| r.1.last().map_or(0.0, |m| m.test_accuracy);
        acc(b).total_cmp(&acc(a))
    });
    println!("rank,optimizer,test_accuracy,test_loss");
    for (i, (spec, m)) in ranked.iter().enumerate() {
        let last = m.last().expect("epochs > 0");
        println!("{},\"{spec}\",{},{}", i + 1, last.test_accuracy, last.test_loss);
    }
    gradus::plot::learning_curves(&run.out.join("learning_curves.svg"), &results)?;
    Ok(())
}
