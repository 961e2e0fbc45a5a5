//! The main job, `cargo xtask demo`: the lecture's experiment run for real.
//! The same MLP on Fashion-MNIST, from the same initial weights, trained
//! with SGD+momentum, RMSProp, AdaGrad, Adadelta, Adam and Nadam; a table
//! ranked by test accuracy, one plot of all learning curves, and the same
//! optimisers' paths on Rosenbrock's valley and an ill-conditioned ravine,
//! all under one output folder. Without Fashion-MNIST it says how to get it
//! and runs the comparison on two spirals instead.
//!
//! Then a small byte-level transformer on the licence texts in
//! /usr/share/common-licenses, with SGD+momentum, Adam and AdamW under a
//! warmup-cosine schedule: their bits-per-byte curves and a sample from
//! the best (`--text-epochs`, default 4; 0 leaves the part out).
//!
//! `cargo run --release -p gradus --example demo -- [--epochs N] [--out DIR] [--data-dir DIR] [--download] [--model SPEC] [--text-epochs N]`
//!
//! `--model` takes what `gradus train --model` takes (`mlp(...)` or
//! `seq(...)`, a CNN included); it is checked against the data before any
//! step, and a misfit exits with code 2.

use gradus::data::{Dataset, Features, InMemory, Subset, Targets, download};
use gradus::models::ModelSpec;
use gradus::prelude::*;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

#[path = "demo_parts/text.rs"]
mod text;

const OPTIMIZERS: [(&str, &str); 6] = [
    ("SGD+momentum", "sgd(lr=0.05, momentum=0.9)"),
    ("RMSProp", "rmsprop(lr=0.001)"),
    ("AdaGrad", "adagrad(lr=0.01)"),
    ("Adadelta", "adadelta(lr=1.0)"),
    ("Adam", "adam(lr=0.001)"),
    ("Nadam", "nadam(lr=0.002)"),
];

struct Args {
    /// Epochs; by default 3 on Fashion-MNIST and 10 on the two spirals
    /// (tiny: seconds), where three leave every optimiser near chance.
    epochs: Option<usize>,
    out: PathBuf,
    data_dir: Option<PathBuf>,
    download: bool,
    model: Option<ModelSpec>,
    /// Epochs of the text part (0 leaves it out).
    text_epochs: usize,
    /// The optimisers compared, (label, spec): [`OPTIMIZERS`] unless
    /// `--optimizers "spec; spec; …"` names others.
    optimizers: Vec<(String, String)>,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        epochs: None,
        out: PathBuf::from("target/demo"),
        data_dir: None,
        download: false,
        model: None,
        text_epochs: 4,
        optimizers: OPTIMIZERS.iter().map(|(l, s)| (l.to_string(), s.to_string())).collect(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--epochs" => a.epochs = Some(value("--epochs")?.parse().map_err(|_| "--epochs takes a positive integer")?),
            "--out" => a.out = PathBuf::from(value("--out")?),
            "--data-dir" => a.data_dir = Some(PathBuf::from(value("--data-dir")?)),
            "--download" => a.download = true,
            "--model" => a.model = Some(ModelSpec::parse(&value("--model")?).map_err(|e| e.to_string())?),
            "--text-epochs" => {
                a.text_epochs = value("--text-epochs")?.parse().map_err(|_| "--text-epochs takes an integer")?;
            }
            "--optimizers" => a.optimizers = optimizers(&value("--optimizers")?)?,
            other => {
                return Err(format!(
                    "unknown argument `{other}`; accepted: --epochs N, --out DIR, --data-dir DIR, --download, --model SPEC, --text-epochs N, --optimizers \"SPEC; SPEC\""
                ));
            }
        }
    }
    if a.epochs == Some(0) {
        return Err("--epochs takes a positive integer".into());
    }
    Ok(a)
}

/// `--optimizers "sam(sgd(lr=0.05, momentum=0.9)); prodigy"`: each spec
/// checked, labelled by its name (numbered when a name repeats).
fn optimizers(list: &str) -> Result<Vec<(String, String)>, String> {
    let specs: Vec<&str> = list.split(';').map(str::trim).filter(|s| !s.is_empty()).collect();
    if specs.is_empty() {
        return Err("--optimizers takes specs separated by `;`, as \"sgd(lr=0.05, momentum=0.9); adam\"".into());
    }
    let mut out: Vec<(String, String)> = Vec::new();
    for spec in specs {
        let name = gradus::optim::parse::<f32>(spec).map_err(|e| format!("--optimizers: {e}"))?.name();
        let seen = out.iter().filter(|(l, _)| l == name || l.starts_with(&format!("{name}_"))).count();
        let label = if seen == 0 { name.to_string() } else { format!("{name}_{}", seen + 1) };
        out.push((label, spec.to_string()));
    }
    Ok(out)
}

/// Train, monitoring subset and test datasets, the default model, the
/// number of classes, and the data's name.
type Data = (Arc<dyn Dataset>, Arc<dyn Dataset>, Arc<dyn Dataset>, &'static str, usize, String);

fn fashion(args: &Args) -> Option<Data> {
    let mut found = mnist::load(mnist::Mnist::Fashion, args.data_dir.as_deref());
    if found.is_err() && args.download {
        match download::download(mnist::Mnist::Fashion, Path::new("data"), None) {
            Ok(dir) => found = mnist::load(mnist::Mnist::Fashion, Some(&dir)),
            Err(e) => eprintln!("download failed: {e}"),
        }
    }
    match found {
        Ok((train, test)) => {
            let prep = |d: InMemory| -> Arc<dyn Dataset> { Arc::new(transforms::scale_u8(Arc::new(d))) };
            let (train, test) = (prep(train), prep(test));
            let monitor: Arc<dyn Dataset> =
                Arc::new(Subset::new(Arc::clone(&train), (0..5000).collect()).expect("in range"));
            Some((train, monitor, test, "mlp(784, 256, 128, 10)", 10, "Fashion-MNIST".into()))
        }
        Err(e) => {
            eprintln!("{e}");
            eprintln!(
                "To get Fashion-MNIST: `sudo apt-get install dataset-fashion-mnist` (Debian/Ubuntu; installs \
                 /usr/share/datasets/fashion-mnist), or put the four *-ubyte.gz files in ./data or $GRADUS_DATA, \
                 or run again with --download. Running the comparison on two spirals instead."
            );
            None
        }
    }
}

/// Two interleaved spirals with a little noise: 2-D inputs, 2 classes.
fn spirals() -> Data {
    let make = |n: usize, seed: u64| {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let (mut x, mut y) = (Vec::new(), Vec::new());
        for i in 0..n {
            let t = 0.25 + 3.0 * std::f64::consts::PI * (i / 2) as f64 / (n / 2) as f64;
            let s = if i % 2 == 0 { 1.0 } else { -1.0 };
            let noise = |r: &mut rand::rngs::StdRng| 0.05 * rand::Rng::random_range(r, -1.0..1.0);
            x.extend([s * t * t.cos() / 10.0 + noise(&mut rng), s * t * t.sin() / 10.0 + noise(&mut rng)]);
            y.push(i % 2);
        }
        Arc::new(InMemory::new(Features::F64(x), vec![2], Targets::Classes(y)).expect("consistent")) as Arc<dyn Dataset>
    };
    let train = make(2000, 1);
    (Arc::clone(&train), train, make(1000, 2), "mlp(2, 64, 64, 2)", 2, "two spirals".into())
}

/// The window of the decision-region figure: x and y from −1.2 to 1.2.
const GRID: (f64, f64) = (-1.2, 1.2);
const CELLS: usize = 100;

/// The model's class-1 probability on a CELLS × CELLS grid over the window
/// (row j at y_j).
fn probabilities(model: &Sequential<f32>) -> Vec<Vec<f64>> {
    let at = |k: usize| GRID.0 + (GRID.1 - GRID.0) * k as f64 / (CELLS - 1) as f64;
    let xy: Vec<f32> = (0..CELLS * CELLS).flat_map(|k| [at(k % CELLS) as f32, at(k / CELLS) as f32]).collect();
    model.eval();
    let logits = no_grad(|| {
        model.forward(&Tape::new(), &Var::constant(Tensor::from_vec(xy, &[CELLS * CELLS, 2]).expect("pairs")))
    });
    let p = logits.value().softmax(-1).to_vec();
    (0..CELLS).map(|j| (0..CELLS).map(|i| p[(j * CELLS + i) * 2 + 1] as f64).collect()).collect()
}

/// The training points with their classes.
fn points(train: &Arc<dyn Dataset>) -> Result<Vec<(f64, f64, usize)>, GradusError> {
    (0..train.len())
        .map(|i| {
            let s = train.get(i)?;
            let gradus::data::Target::Class(c) = s.target else { unreachable!("classes") };
            Ok((s.features[0], s.features[1], c))
        })
        .collect()
}

fn write(path: &Path, text: &str) -> Result<(), GradusError> {
    std::fs::write(path, text).map_err(|source| GradusError::Io { path: path.display().to_string(), source })
}

fn run(args: &Args) -> Result<(), GradusError> {
    std::fs::create_dir_all(&args.out)
        .map_err(|source| GradusError::Io { path: args.out.display().to_string(), source })?;
    let (train, monitor, test, default, classes, name) = fashion(args).unwrap_or_else(spirals);
    let model_spec = args.model.clone().unwrap_or_else(|| ModelSpec::parse(default).expect("a valid default"));
    let example = train.feature_shape();
    if let Err(e) = model_spec.check(&model_spec.build::<f32>(0), &example, classes) {
        return Err(GradusError::Config(e));
    }
    // Flattened for an MLP, [1, 28, 28] images for a convolutional model.
    let shape = model_spec.input_shape(&example);
    let shaped = |d: Arc<dyn Dataset>| -> Arc<dyn Dataset> { Arc::new(transforms::reshape(d, shape.clone())) };
    let (train, monitor, test) = (shaped(train), shaped(monitor), shaped(test));
    let spirals = name == "two spirals";
    let batch = if spirals { 32 } else { 128 };
    let epochs = args.epochs.unwrap_or(if spirals { 10 } else { 3 });
    println!(
        "{name}: {} training and {} test examples; {}, batch {batch}, {epochs} epochs",
        train.len(),
        test.len(),
        model_spec.text(),
    );
    let train_loader = DataLoader::new(Arc::clone(&train), batch).shuffle(0).workers(1);
    let (monitor_loader, test_loader) = (DataLoader::new(monitor, 1000), DataLoader::new(test, 1000));
    let loss = CrossEntropy::default();
    let mut runs = Vec::new();
    let mut regions = Vec::new();
    for (label, spec) in &args.optimizers {
        // The same initial weights for every optimiser.
        let model = model_spec.build::<f32>(0);
        let mut trainer = Trainer::new(Optimizer::boxed(gradus::optim::parse::<f32>(spec)?));
        let mut metrics = Vec::new();
        for _ in 0..epochs {
            let m = trainer.epoch(
                &model,
                &loss,
                &Loaders { train: &train_loader, monitor: &monitor_loader, test: &test_loader },
            )?;
            if spirals && m.epoch % 5 != 0 && m.epoch != epochs {
                metrics.push(m);
                continue;
            }
            println!(
                "  {label:<13} epoch {}: train loss {:.4}, test loss {:.4}, test accuracy {:.4} ({:.1} s)",
                m.epoch, m.train_loss, m.test_loss, m.test_accuracy, m.seconds
            );
            metrics.push(m);
        }
        let csv: Vec<String> =
            std::iter::once(metrics[0].csv_header()).chain(metrics.iter().map(EpochMetrics::csv_row)).collect();
        write(
            &args.out.join(format!("metrics_{}.csv", label.to_lowercase().replace('+', "_"))),
            &(csv.join("\n") + "\n"),
        )?;
        if spirals {
            let accuracy = metrics.last().map_or(f64::NAN, |m| m.test_accuracy);
            regions.push((format!("{label}: test accuracy {accuracy:.3}"), probabilities(&model)));
        }
        runs.push((format!("{label}: {spec}"), metrics));
    }
    let mut ranked: Vec<&(String, Vec<EpochMetrics>)> = runs.iter().collect();
    ranked.sort_by(|a, b| {
        b.1.last().map(|m| m.test_accuracy).partial_cmp(&a.1.last().map(|m| m.test_accuracy)).expect("finite")
    });
    let mut table = format!(
        "# Optimisers on {name} ({epochs} epochs, same initial weights)\n\n| rank | optimiser | test accuracy | test loss |\n|---|---|---|---|\n",
    );
    for (i, (label, m)) in ranked.iter().enumerate() {
        let last = m.last().expect("at least one epoch");
        table.push_str(&format!("| {} | {label} | {:.4} | {:.4} |\n", i + 1, last.test_accuracy, last.test_loss));
    }
    println!("\n{table}");
    write(&args.out.join("ranking.md"), &table)?;
    gradus::plot::learning_curves(&args.out.join("learning_curves.svg"), &runs)?;
    if spirals {
        let points = points(&train)?;
        let title = format!("two spirals: class-1 probability after {epochs} epochs (thick: the decision boundary)");
        gradus::plot::decision_regions(&args.out.join("decision_regions.svg"), &title, GRID, &regions, &points)?;
    }
    optimiser_paths(&args.out)?;
    text::run(&args.out, args.text_epochs)?;
    println!(
        "Results (metrics CSVs, ranking.md, learning_curves.svg, paths_*.svg, text_*) are in {}",
        args.out.display()
    );
    Ok(())
}

/// The optimisers' paths on Rosenbrock's valley and on a ravine ½θᵀAθ
/// (A = R·diag(1, 100)·Rᵀ, R the rotation by 30°).
fn optimiser_paths(out: &Path) -> Result<(), GradusError> {
    let rosen = |x: f64, y: f64| (1.0 - x).powi(2) + 100.0 * (y - x * x).powi(2);
    let rosen_grad =
        |p: &[f64]| vec![-2.0 * (1.0 - p[0]) - 400.0 * p[0] * (p[1] - p[0] * p[0]), 200.0 * (p[1] - p[0] * p[0])];
    let (c, s) = ((30f64).to_radians().cos(), (30f64).to_radians().sin());
    let a = [c * c + 100.0 * s * s, (1.0 - 100.0) * c * s, (1.0 - 100.0) * c * s, s * s + 100.0 * c * c];
    let ravine = move |x: f64, y: f64| 0.5 * (a[0] * x * x + 2.0 * a[1] * x * y + a[3] * y * y);
    let ravine_grad = move |p: &[f64]| vec![a[0] * p[0] + a[1] * p[1], a[2] * p[0] + a[3] * p[1]];
    type Grad<'a> = &'a dyn Fn(&[f64]) -> Vec<f64>;
    let cases: [(&str, Grad<'_>, [f64; 2], [&str; 6]); 2] = [
        (
            "rosenbrock",
            &rosen_grad,
            [-1.5, 2.0],
            [
                "sgd(lr=0.0005, momentum=0.9)",
                "rmsprop(lr=0.01)",
                "adagrad(lr=0.5)",
                "adadelta(lr=1.0)",
                "adam(lr=0.05)",
                "nadam(lr=0.05)",
            ],
        ),
        (
            "ravine",
            &ravine_grad,
            [-4.0, 3.0],
            [
                "sgd(lr=0.01, momentum=0.9)",
                "rmsprop(lr=0.05)",
                "adagrad(lr=1.0)",
                "adadelta(lr=1.0)",
                "adam(lr=0.2)",
                "nadam(lr=0.2)",
            ],
        ),
    ];
    for (function, grad, start, specs) in cases {
        let mut runs = Vec::new();
        for spec in specs {
            let mut opt = Optimizer::<f64>::boxed(gradus::optim::parse(spec)?);
            let mut p = start.to_vec();
            let mut path = vec![(p[0], p[1])];
            for _ in 0..300 {
                let g = grad(&p);
                opt.update(0, &mut p, &g)?;
                path.push((p[0], p[1]));
            }
            runs.push((spec.to_string(), path));
        }
        let file = out.join(format!("paths_{function}.svg"));
        if function == "rosenbrock" {
            let title = "Rosenbrock, 300 steps from (-1.5, 2)";
            gradus::plot::paths(&file, title, rosen, (-2.0, 2.0), (-1.0, 3.0), &[(1.0, 1.0)], &runs)?;
        } else {
            gradus::plot::paths(
                &file,
                "ravine (condition number 100), 300 steps",
                ravine,
                (-5.0, 5.0),
                (-4.0, 4.0),
                &[(0.0, 0.0)],
                &runs,
            )?;
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    gradus::tensor::init_threads(0).expect("nothing has used rayon before main");
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("demo: {e}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(GradusError::Config(e)) => {
            eprintln!("demo: {e}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("demo: {e}");
            ExitCode::FAILURE
        }
    }
}
