//! `gradus landscape`: the loss around a trained network, along a line
//! or over a plane of parameter space.

use crate::lab::{AtCheckpoint, Loaded, Role, load, read};
use crate::output::json_number;
use crate::{Failure, usage};
use gradus::data::DataLoader;
use gradus::loss::CrossEntropy;
use std::path::PathBuf;
use std::sync::Arc;

/// Where `gradus landscape` looks.
#[derive(Clone, Copy, clap::ValueEnum, PartialEq, Eq)]
pub enum Mode {
    Line,
    Plane,
}

/// How `gradus landscape` chooses the directions of a line or plane
/// around the checkpoint.
#[derive(Clone, Copy, clap::ValueEnum, PartialEq, Eq)]
pub enum Directions {
    /// Filter-normalised Gaussian directions (Li et al. 2018).
    Random,
    /// The Hessian's top eigenvectors, unit length (PyHessian).
    Eigen,
    /// The first principal components of a run's trajectory about the
    /// checkpoint, unit length (Li et al. 2018); needs --run.
    Pca,
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
    /// The range of α (and β), `lo:hi` (`--range=-1:1`) [default: -1:1, or
    /// with --directions pca the trajectory's extent and a fifth more].
    #[arg(long, allow_hyphen_values = true)]
    pub range: Option<String>,
    /// The run directory whose trajectory.safetensors (`gradus train
    /// --trajectory-every N`) gives --directions pca.
    #[arg(long)]
    pub run: Option<PathBuf>,
    /// Points along each axis.
    #[arg(long, default_value_t = 51)]
    pub points: usize,
    /// The directions around the checkpoint: filter-normalised random
    /// ones, or the Hessian's top eigenvectors (the first for a line, the
    /// first two for a plane).
    #[arg(long, value_enum, default_value = "random")]
    pub directions: Directions,
    /// Seed of the random directions (or of Lanczos's start).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output format.
    #[arg(long, value_enum, default_value = "csv")]
    pub format: crate::Format,
    /// Also draw it as SVG (a line figure, or contours of the plane).
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// Replace a --plot file that exists.
    #[arg(long)]
    pub overwrite: bool,
    /// Go on with a plane larger than --points 101 (hours of evaluations).
    #[arg(long)]
    pub yes: bool,
}

/// At most this many points along an axis (a plane evaluates its square).
const MAX_POINTS: usize = 1001;

/// Points along each axis of a plane beyond which `--yes` is needed: 101²
/// = 10 201 evaluations of the subset's loss, minutes on a small network;
/// 1001² is a hundred times that.
const PLANE_POINTS_WITHOUT_YES: usize = 101;

fn parse_range(text: &str) -> Result<(f64, f64), Failure> {
    let bad = || usage(format!("--range {text}: give lo:hi with finite lo < hi, e.g. --range=-1:1"));
    let (lo, hi) = text.split_once(':').ok_or_else(bad)?;
    let (lo, hi) = (crate::finite(lo.trim()).map_err(|_| bad())?, crate::finite(hi.trim()).map_err(|_| bad())?);
    if lo < hi { Ok((lo, hi)) } else { Err(bad()) }
}

/// `gradus landscape`.
pub fn landscape(args: &LandscapeArgs) -> Result<(), Failure> {
    let mut inputs = vec![args.at.checkpoint.as_path()];
    inputs.extend(args.to.as_deref());
    let trajectory_file = args.run.as_ref().map(|d| d.join(gradus::trajectory::TRAJECTORY_FILE));
    inputs.extend(trajectory_file.as_deref());
    crate::outputs::fresh("--plot", args.plot.as_deref(), &inputs, args.overwrite)?;
    let pca = args.directions == Directions::Pca;
    if pca != args.run.is_some() {
        return Err(usage(if pca {
            "--directions pca needs --run DIR, the run whose trajectory.safetensors to analyse"
        } else {
            "--run gives the trajectory of --directions pca; give that, or leave --run out"
        }));
    }
    let given_range = args.range.as_deref().map(parse_range).transpose()?;
    let (mut lo, mut hi) = given_range.unwrap_or((-1.0, 1.0));
    if !(2..=MAX_POINTS).contains(&args.points) {
        return Err(usage(format!("--points {}: give 2 to {MAX_POINTS}", args.points)));
    }
    if args.mode == Mode::Plane && args.points > PLANE_POINTS_WITHOUT_YES {
        let evaluations = args.points * args.points;
        if !args.yes {
            let base = PLANE_POINTS_WITHOUT_YES * PLANE_POINTS_WITHOUT_YES;
            return Err(usage(format!(
                "--mode plane --points {} evaluates the loss over the subset at {evaluations} points, {:.1} times the \
                 {base} of --points {PLANE_POINTS_WITHOUT_YES} (at 1001, hours); give --yes to go on, or at most --points {PLANE_POINTS_WITHOUT_YES}",
                args.points,
                evaluations as f64 / base as f64
            )));
        }
        crate::note(&format!("landscape: {evaluations} evaluations of the loss (--yes given)"));
    }
    let between = args.to.is_some() || args.from_init;
    if args.to.is_some() && args.from_init {
        return Err(usage("--to and --from-init each give the line's other end; give one"));
    }
    if args.directions != Directions::Random && between {
        return Err(usage(
            "--directions eigen and pca move away from the checkpoint; --to and --from-init give a line between two points",
        ));
    }
    if args.mode == Mode::Plane && between {
        return Err(usage("--mode plane spans two random directions; --to and --from-init give a line (--mode line)"));
    }
    let loaded = load(&args.at)?;
    let model = loaded.model::<f32>(&args.at.checkpoint)?;
    let loader = DataLoader::new(Arc::clone(&loaded.subset), 500);
    let loss = CrossEntropy::default();
    // The trajectory's principal directions, and where its snapshots lie.
    let mut principal = match &trajectory_file {
        Some(file) => {
            if !file.exists() {
                return Err(usage(format!(
                    "--run: {} is missing; train with --trajectory-every N to keep one",
                    file.display()
                )));
            }
            let dimension = gradus::nn::Module::named_parameters(&model).iter().map(|(_, p)| p.numel()).sum();
            let points =
                gradus::trajectory::load_trajectory::<f32>(file, dimension).map_err(|e| usage(e.to_string()))?;
            let end = gradus::landscape::State::of(&model);
            let (dirs, explained, coords) =
                gradus::trajectory::principal_directions(&end, &points).map_err(|e| usage(e.to_string()))?;
            crate::note(&format!(
                "landscape: {} snapshots; the first two principal directions explain {:.1}% and {:.1}% of their spread",
                points.len(),
                100.0 * explained[0],
                100.0 * explained[1]
            ));
            if given_range.is_none() {
                let extent = coords.iter().flat_map(|(a, b)| [a.abs(), b.abs()]).fold(0.0f64, f64::max);
                (lo, hi) = (-1.2 * extent.max(1e-6), 1.2 * extent.max(1e-6));
            }
            Some((vec![dirs.0, dirs.1], explained, coords))
        }
        None => None,
    };
    // lo·(1 − t) + hi·t: finite for every finite end (hi − lo need not be).
    let axis: Vec<f64> = (0..args.points)
        .map(|i| {
            let t = i as f64 / (args.points - 1) as f64;
            lo * (1.0 - t) + hi * t
        })
        .collect();
    let checkpoint_state = gradus::landscape::State::of(&model);
    // The line's far end, and where it starts.
    let other = if let Some(b) = &args.to {
        // B's checkpoint alone: the data are A's.
        let (spec, checkpoint) = read(b, Some(loaded.spec.text()), Role::To)?;
        let second = Loaded { spec, checkpoint, subset: Arc::clone(&loaded.subset) };
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
    // The Hessian's top eigenvectors, before the points (which move the model).
    let mut eigen = match args.directions {
        Directions::Eigen => {
            let count = if args.mode == Mode::Plane { 2 } else { 1 };
            let (d, values) = gradus::landscape::eigen_directions(&model, &loss, &loader, count, args.seed)?;
            crate::note(&format!("landscape: along the Hessian's top eigenvectors, eigenvalues {values:?}"));
            Some((d, values))
        }
        Directions::Random | Directions::Pca => None,
    };
    let points = if matches!((&other, args.mode), (None, Mode::Plane)) { axis.len() * axis.len() } else { axis.len() };
    let bar = crate::progress::Progress::new(points, "landscape", "points");
    let land = gradus::landscape::Landscape::new(&model, &loss, &loader).with_progress(|| bar.tick());
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
            let d = match (eigen.as_mut(), principal.as_mut()) {
                (Some((d, _)), _) | (None, Some((d, _, _))) => d.remove(0),
                (None, None) => gradus::landscape::filter_normalised_direction(&model, land.origin(), args.seed),
            };
            let evals = land.line(&d, &axis)?;
            (
                axis.iter().zip(&evals).map(|(a, e)| vec![*a, e.loss, e.accuracy]).collect(),
                &["alpha", "loss", "accuracy"],
            )
        }
        (None, Mode::Plane) => {
            let (d1, d2) = match (eigen.as_mut(), principal.as_mut()) {
                (Some((d, _)), _) | (None, Some((d, _, _))) => (d.remove(0), d.remove(0)),
                (None, None) => (
                    gradus::landscape::filter_normalised_direction(&model, land.origin(), args.seed),
                    gradus::landscape::filter_normalised_direction(&model, land.origin(), args.seed.wrapping_add(1)),
                ),
            };
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
    drop(bar);
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
        // Short enough for the figure's width.
        let eigen_title = |values: &[f64]| match values {
            [one] => format!("loss on {subset} examples along the Hessian's top eigenvector (λ = {one:.4})"),
            [one, two, ..] => {
                format!("loss on {subset} examples, the Hessian's top two eigenvectors (λ = {one:.4}, {two:.4})")
            }
            [] => String::new(),
        };
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
                let title = match (&eigen, &principal) {
                    (Some((_, values)), _) => eigen_title(values),
                    (None, Some((_, e, _))) => format!(
                        "loss on {subset} examples along the run's first principal direction ({:.1}% of its spread)",
                        100.0 * e[0]
                    ),
                    (None, None) => format!("loss on {subset} training examples along a filter-normalised direction"),
                };
                let line: Vec<(f64, f64, f64)> = rows.iter().map(|r| (r[0], r[1], r[2])).collect();
                gradus::plot::landscape_line(p, &title, &line)?;
            }
            (None, Mode::Plane) => {
                let grid: Vec<Vec<f64>> = rows.chunks(axis.len()).map(|c| c.iter().map(|r| r[2]).collect()).collect();
                let title = match (&eigen, &principal) {
                    (Some((_, values)), _) => eigen_title(values),
                    (None, Some((_, e, _))) => format!(
                        "loss on {subset} examples, the run's path on its principal directions ({:.1}%, {:.1}%)",
                        100.0 * e[0],
                        100.0 * e[1]
                    ),
                    (None, None) => format!(
                        "loss on {subset} training examples, two filter-normalised directions (× marks the checkpoint)"
                    ),
                };
                let path = principal.as_ref().map_or(&[][..], |(_, _, c)| &c[..]);
                gradus::plot::landscape_plane(p, &title, (&axis, &axis), &grid, path)?;
            }
        }
    }
    Ok(())
}
