//! Where a command's examples come from (`--data`, `--data-dir`, `--text`,
//! `--context`): Fashion-MNIST or MNIST images, or the bytes of text
//! files, checked against the model before anything is trained.

use crate::Failure;
use gradus::data::{Dataset, InMemory, Subset, TextWindows};
use gradus::models::ModelSpec;
use gradus::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Train, monitoring subset and test sets.
pub type Splits = (Arc<dyn Dataset>, Arc<dyn Dataset>, Arc<dyn Dataset>);

/// The data options every command that trains or evaluates a network takes.
#[derive(clap::Args, Clone, Debug)]
pub struct Source {
    /// The dataset: fashion-mnist, mnist, or text (the bytes of --text).
    #[arg(long, default_value = "fashion-mnist")]
    pub data: String,
    /// A directory holding the four *-ubyte(.gz) files.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// A text file for --data text (repeat for several); each file's last
    /// 10% is held out for the test set.
    #[arg(long)]
    pub text: Vec<PathBuf>,
    /// Bytes per window for --data text.
    #[arg(long, default_value_t = 128)]
    pub context: usize,
}

impl Source {
    /// Whether the examples are windows of text.
    pub fn is_text(&self) -> bool {
        self.data == "text"
    }

    /// What identifies the data of a run beyond `--data`: the text files
    /// and the context (recorded in a checkpoint; `None` for images).
    pub fn text_record(&self) -> Option<(String, String)> {
        let files: Vec<String> = self.text.iter().map(|p| p.display().to_string()).collect();
        self.is_text().then(|| (files.join(","), self.context.to_string()))
    }
}

/// The train, monitoring and test sets of `source`, checked against
/// `model` built from `seed` for batches of `batch_size`: a dataset that
/// cannot be read, or a model that does not fit it, exits 2.
pub fn datasets(source: &Source, model: &ModelSpec, seed: u64, batch_size: usize) -> Result<Splits, Failure> {
    let flags_for_text = || {
        if source.text.is_empty() {
            Ok(())
        } else {
            Err(crate::usage(format!("--text is for --data text, not --data {}", source.data)))
        }
    };
    match source.data.as_str() {
        "fashion-mnist" => flags_for_text()
            .and_then(|()| images(mnist::Mnist::Fashion, source.data_dir.as_deref(), model, seed, batch_size)),
        "mnist" => flags_for_text()
            .and_then(|()| images(mnist::Mnist::Digits, source.data_dir.as_deref(), model, seed, batch_size)),
        "text" => text(source, model, seed, batch_size),
        other => Err(crate::usage(format!("unknown dataset `{other}`; accepted: fashion-mnist, mnist, text"))),
    }
}

/// Refuses a model that cannot train or would not fit in memory, before
/// anything is allocated: the stored values (with gradients and up to two
/// optimiser moments, 4 bytes each) from the spec alone, then what one
/// batch's forward and backward passes keep. `check` walks the model and
/// returns the values it keeps per example.
fn fits(
    model: &ModelSpec,
    seed: u64,
    batch_size: usize,
    check: impl FnOnce(&Sequential<f32>) -> Result<f64, String>,
) -> Result<(), Failure> {
    let stored = model.stored_values() * 4.0 * 4.0;
    let advice = "make the model or the batch smaller";
    crate::memory::fits(stored, || format!("{}: {} stored values", model.text(), model.stored_values()), advice)?;
    model.representable::<f32>().map_err(crate::usage)?;
    let built = model.build::<f32>(seed);
    let per_example = check(&built).map_err(crate::usage)?;
    if built.named_parameters().iter().all(|(_, p)| p.is_frozen()) {
        return Err(crate::usage(format!(
            "{}: the model has no trainable parameters; add a layer that has some, such as linear",
            model.text()
        )));
    }
    let batch = batch_size.max(1000) as f64;
    crate::memory::fits(
        stored + per_example * batch * 4.0 * 3.0,
        || format!("{}: {per_example} layer outputs per example in batches of {}", model.text(), batch),
        advice,
    )
}

/// Fashion-MNIST or MNIST, scaled to [0, 1] and shaped as `model` takes
/// them (flattened, or `[1, 28, 28]`).
fn images(
    which: mnist::Mnist,
    data_dir: Option<&Path>,
    model: &ModelSpec,
    seed: u64,
    batch_size: usize,
) -> Result<Splits, Failure> {
    let (train, test) = mnist::load(which, data_dir).map_err(|e| {
        crate::usage(format!("{e}\n(Debian/Ubuntu: sudo apt-get install dataset-fashion-mnist; or pass --data-dir with the four *-ubyte.gz files)"))
    })?;
    let dir = data_dir.map_or_else(|| "the data".to_string(), |d| d.display().to_string());
    for (set, d) in [("training", &train), ("test", &test)] {
        if d.is_empty() {
            return Err(crate::usage(format!("{dir}: the {set} set has no examples; training needs at least one")));
        }
    }
    let example = train.feature_shape();
    let classes = which.classes().len();
    fits(model, seed, batch_size, |built| model.check(built, &example, classes))?;
    let shape = model.input_shape(&example);
    let prep = |d: InMemory| -> Arc<dyn Dataset> {
        Arc::new(transforms::reshape(Arc::new(transforms::scale_u8(Arc::new(d))), shape.clone()))
    };
    let (train, test) = (prep(train), prep(test));
    let monitor: Arc<dyn Dataset> = Arc::new(Subset::new(Arc::clone(&train), (0..5000.min(train.len())).collect())?);
    Ok((train, monitor, test))
}

/// Windows of the examples the training loss is monitored on, at most.
const TEXT_MONITOR: usize = 512;

/// Byte-level text: windows of `--context` bytes at starts drawn from the
/// seed (as many as the training bytes hold whole), the held-out bytes in
/// consecutive windows, the first 512 training windows monitored.
fn text(source: &Source, model: &ModelSpec, seed: u64, batch_size: usize) -> Result<Splits, Failure> {
    if source.text.is_empty() {
        return Err(crate::usage("--data text needs --text FILE (repeat for several files)"));
    }
    if source.context == 0 {
        return Err(crate::usage("--context must be at least one byte"));
    }
    let (train, held_out) = gradus::data::read_text(&source.text).map_err(|e| crate::usage(format!("--text {e}")))?;
    let context = source.context;
    let windows = |bytes: Vec<u8>, set: &str, random: bool| {
        let bytes = Arc::new(bytes);
        let made =
            if random { TextWindows::random(bytes, context, seed) } else { TextWindows::consecutive(bytes, context) };
        made.map_err(|e| crate::usage(format!("--text: the {set} part (each file's {set}): {e}")))
    };
    let train = windows(train, "first 90%", true)?;
    let test = windows(held_out, "last 10%", false)?;
    fits(model, seed, batch_size, |built| model.check_sequence(built, &[context], gradus::data::BYTES))?;
    let train: Arc<dyn Dataset> = Arc::new(train);
    let monitor: Arc<dyn Dataset> =
        Arc::new(Subset::new(Arc::clone(&train), (0..TEXT_MONITOR.min(train.len())).collect())?);
    Ok((train, monitor, Arc::new(test)))
}
