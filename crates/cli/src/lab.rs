//! What `gradus curvature` and `gradus landscape` share: the function they
//! examine — the mean cross-entropy of a checkpoint's model in evaluation
//! mode over the first `--subset` training examples — read from the
//! checkpoint and the data (the commands are in curvature.rs,
//! landscape.rs; lr_find.rs is the range test).

use crate::{Failure, usage};
use gradus::data::{Dataset, Subset};
use gradus::models::ModelSpec;
use gradus::nn::{Checkpoint, Module, Sequential, checkpoint};
use gradus::tensor::Float;
use std::path::{Path, PathBuf};
use std::sync::Arc;

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
    #[command(flatten)]
    pub source: crate::source::Source,
    /// The first this many training examples (file order) define the loss
    /// [default: 1000, or all when fewer].
    #[arg(long)]
    pub subset: Option<usize>,
}

impl AtCheckpoint {
    /// `--subset` as given, else 1000.
    fn subset(&self) -> usize {
        self.subset.unwrap_or(1000)
    }
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
    let wanted = at.subset();
    if wanted == 0 {
        return Err(usage("--subset must be positive"));
    }
    let (spec, ck) = read(&at.checkpoint, at.model.as_deref(), Role::Checkpoint)?;
    let (train, _, _) = crate::source::datasets(&at.source, &spec, 0, wanted.min(1000))?;
    let n = wanted.min(train.len());
    // Said only of a --subset the user gave; the default takes what there is.
    if let Some(given) = at.subset.filter(|&given| n < given) {
        crate::note(&format!("--subset {given}: the training set holds {n} examples; using all of them"));
    }
    let subset: Arc<dyn Dataset> = Arc::new(Subset::new(train, (0..n).collect())?);
    Ok(Loaded { spec, checkpoint: ck, subset })
}

/// Which checkpoint of a command is read, for its messages.
#[derive(Clone, Copy)]
pub enum Role {
    /// `--checkpoint`, whose model `--model` may give.
    Checkpoint,
    /// `landscape --to`, whose model must be `--checkpoint`'s.
    To,
}

/// The checkpoint at `path` and its model spec: `model` if given (it must
/// agree with a recorded one), else the one it records. For `Role::To`,
/// `model` is `--checkpoint`'s.
pub fn read(path: &Path, model: Option<&str>, role: Role) -> Result<(ModelSpec, Checkpoint), Failure> {
    let flag = match role {
        Role::Checkpoint => "--checkpoint",
        Role::To => "--to",
    };
    if !path.is_file() {
        return Err(usage(format!("{flag} {}: no such file", path.display())));
    }
    let ck = Checkpoint::load(path).map_err(|e| match e {
        gradus::nn::NnError::Io { .. } => Failure::Run(e.to_string()),
        other => usage(format!("{flag}: {other}")),
    })?;
    let recorded = ck.metadata("config.model").map(str::to_string);
    let given = model.map(crate::train::model_text).transpose()?;
    let text = match (given.as_deref(), &recorded) {
        (Some(given), Some(rec)) if squeeze(given) != squeeze(rec) => {
            return Err(usage(match role {
                Role::Checkpoint => format!(
                    "--model {given} differs from the model {} records ({rec}); leave --model out to use the recorded one",
                    path.display()
                ),
                Role::To => format!(
                    "--to {} holds the model {rec}, --checkpoint the model {given}; a line runs between two checkpoints of one model",
                    path.display()
                ),
            }));
        }
        (Some(given), _) => given.to_string(),
        (None, Some(rec)) => rec.clone(),
        (None, None) => {
            return Err(usage(format!("{flag} {} records no model; give it with --model", path.display())));
        }
    };
    Ok((crate::train::parse_model(&text)?, ck))
}

/// A spec without its spaces, for comparing specs as written.
fn squeeze(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

impl Loaded {
    /// The model in `T` with the checkpoint's values (stored in f32 or f64;
    /// converted when they differ from `T`).
    pub fn model<T: Float>(&self, path: &Path) -> Result<Sequential<T>, Failure> {
        let stored_f64 = self
            .checkpoint
            .names()
            .filter(|n| n.starts_with(prefix(&self.checkpoint)))
            .any(|n| self.checkpoint.describe(n).is_some_and(|(_, dtype)| dtype.eq_ignore_ascii_case("f64")));
        if stored_f64 { self.restored::<f64, T>(path) } else { self.restored::<f32, T>(path) }
    }

    /// Restored in the stored type `S`, then every parameter and buffer
    /// cast to `T`.
    fn restored<S: Float, T: Float>(&self, path: &Path) -> Result<Sequential<T>, Failure> {
        let stored = self.spec.build::<S>(0);
        checkpoint::restore(&stored, &self.checkpoint, prefix(&self.checkpoint))
            .map_err(|e| usage(format!("{}: {e}", path.display())))?;
        // Runs are saved only while finite: a NaN or Inf was put there.
        let tensors = stored.named_parameters().into_iter().map(|(n, p)| (n, p.value()));
        let buffers = stored.named_buffers().into_iter().map(|(n, b)| (n, b.value()));
        if let Some((name, _)) = tensors.chain(buffers).find(|(_, t)| !t.isfinite().all()) {
            return Err(usage(format!(
                "{}: `{}{name}` holds NaN or Inf; a model that is not finite has no loss to analyse",
                path.display(),
                prefix(&self.checkpoint)
            )));
        }
        let model = self.spec.build::<T>(0);
        for ((_, p), (_, q)) in model.named_parameters().iter().zip(stored.named_parameters()) {
            p.set(q.value().cast::<T>());
        }
        for ((_, b), (_, c)) in model.named_buffers().iter().zip(stored.named_buffers()) {
            b.set(c.value().cast::<T>());
        }
        Ok(model)
    }
}
