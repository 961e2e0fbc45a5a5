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
