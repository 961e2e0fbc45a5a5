//! [`RunDir`]: the one owner of a training run's directory — its lock, the
//! claim a fresh run makes on it, the resume from its checkpoint with the
//! history in its CSV files, and the files written after every epoch — and
//! [`output_clash`], the rule for any other file a command writes.
//!
//! The rules, each enforced here and nowhere else:
//! - one process writes a directory at a time (a lock file, released
//!   with the process however it ends);
//! - a fresh run never replaces another's files unless told to, and a
//!   refusal changes nothing;
//! - a resume reads the checkpoint (refused when its recorded
//!   configuration differs, see [`Trainer::record`]), then metrics.csv and
//!   sharpness.csv and trajectory.safetensors up to the checkpoint's
//!   epoch, refusing files that are not this run's, so the run goes on as
//!   if never stopped;
//! - every file is replaced atomically: a run stopped at any instant
//!   leaves the last complete epoch.

use crate::{EpochMetrics, GradusError, SharpnessPoint, Trainer};
use gradus_nn::{Checkpoint, Module};
use gradus_tensor::Float;
use std::fs::File;
use std::path::{Path, PathBuf};

/// The files a run writes into its directory.
pub const RUN_FILES: [&str; 6] = [
    "metrics.csv",
    "checkpoint.safetensors",
    "learning_curve.svg",
    "sharpness.csv",
    "sharpness.svg",
    crate::trajectory::TRAJECTORY_FILE,
];

/// The first line of sharpness.csv.
pub const SHARPNESS_HEADER: &str = "step,epoch,lr,sharpness";

/// The first line of sharpness.csv when the Gauss–Newton matrix's top
/// eigenvalue is measured too.
pub const SHARPNESS_GGN_HEADER: &str = "step,epoch,lr,sharpness,ggn_sharpness";

/// A training run's directory: `checkpoint.safetensors`, `metrics.csv`,
/// `learning_curve.svg`, and `sharpness.csv` / `sharpness.svg` when the
/// trainer measures sharpness.
///
/// ```
/// # use gradus::prelude::*;
/// # use gradus::run::RunDir;
/// # fn main() -> Result<(), GradusError> {
/// let dir = std::env::temp_dir().join(format!("rundir-doc-{}", std::process::id()));
/// let mut run = RunDir::new(&dir, "sgd");
/// run.lock()?;
/// run.claim(false)?; // refuses a directory that holds another run
/// let model = gradus::models::ModelSpec::parse("mlp(2, 2)").unwrap().build::<f32>(0);
/// let trainer = Trainer::new(Optimizer::boxed(gradus::optim::parse("sgd(lr=0.1)")?)).record("seed", "0");
/// // … train an epoch, then:
/// # let m = EpochMetrics { epoch: 1, train_loss: 0.5, train_accuracy: 0.8, test_loss: 0.6, test_accuracy: 0.75,
/// #     test_top5_accuracy: 1.0, lr: 0.1, seconds: 1.0, grad_norms: vec![], dead_units: vec![], saturated: vec![],
/// #     sharpness: None, noise: None, bits_per_byte: false, skipped: None, ema_test: None, swa_test: None, step_losses: vec![] };
/// run.push(m);
/// run.save(&trainer, &model)?;
/// drop(run);
///
/// let mut again = RunDir::new(&dir, "sgd");
/// again.lock()?;
/// assert!(again.claim(false).is_err()); // a fresh run would replace it
/// let mut resumed = Trainer::new(Optimizer::boxed(gradus::optim::parse("sgd(lr=0.1)")?)).record("seed", "1");
/// assert!(again.resume(&mut resumed, &model).is_err()); // another seed: another run
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct RunDir {
    dir: PathBuf,
    label: String,
    lock: Option<File>,
    /// The directories [`RunDir::lock`] created (the run's and any missing
    /// parents, innermost first): if nothing is saved, they are removed
    /// again when this is dropped.
    created: std::cell::RefCell<Vec<PathBuf>>,
    /// metrics.csv's lines (header first), kept as read so a resumed run
    /// rewrites its earlier epochs byte for byte.
    rows: Vec<String>,
    metrics: Vec<EpochMetrics>,
    /// Sharpness measured before the resume.
    sharpness_before: Vec<SharpnessPoint>,
}

fn io(path: &Path, e: std::io::Error) -> GradusError {
    GradusError::Io { path: path.display().to_string(), source: e }
}

impl RunDir {
    /// The run in `dir`, named `label` in its plots (the optimiser, say).
    /// Nothing on disk is touched until a method says so.
    pub fn new(dir: impl Into<PathBuf>, label: &str) -> Self {
        RunDir {
            dir: dir.into(),
            label: label.to_string(),
            lock: None,
            created: std::cell::RefCell::new(Vec::new()),
            rows: Vec::new(),
            metrics: Vec::new(),
            sharpness_before: Vec::new(),
        }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The run's checkpoint file.
    pub fn checkpoint(&self) -> PathBuf {
        self.dir.join("checkpoint.safetensors")
    }

    /// Creates the directory if needed and holds it for this process: a
    /// second process locking it is refused while this `RunDir` lives.
    ///
    /// # Errors
    /// [`GradusError::Config`] when another process holds it;
    /// [`GradusError::Io`] when it cannot be created.
    /// A directory this creates and nothing is saved into (the command
    /// stopped before its first epoch) is removed when the `RunDir` is
    /// dropped: a refusal leaves no trace.
    pub fn lock(&mut self) -> Result<(), GradusError> {
        let missing: Vec<PathBuf> = self
            .dir
            .ancestors()
            .take_while(|d| !d.as_os_str().is_empty() && !d.exists())
            .map(Path::to_path_buf)
            .collect();
        std::fs::create_dir_all(&self.dir).map_err(|e| io(&self.dir, e))?;
        *self.created.borrow_mut() = missing;
        self.lock = Some(lock(&self.dir)?);
        Ok(())
    }

    /// The directory holds work now (a [`RunDir::save`] says so itself):
    /// it stays when this is dropped, even if [`RunDir::lock`] created it.
    pub fn keep(&self) {
        self.created.borrow_mut().clear();
    }

    /// The run files present in the directory: an error naming them unless
    /// there are none or `overwrite`. Changes nothing.
    ///
    /// # Errors
    /// [`GradusError::Occupied`] naming the files.
    pub fn check_free(&self, overwrite: bool) -> Result<Vec<&'static str>, GradusError> {
        free(&self.dir, &RUN_FILES, overwrite)
    }

    /// Claims the directory for a fresh run: refused if it holds a run,
    /// unless `overwrite`, and then that run's files are removed.
    ///
    /// # Errors
    /// As [`RunDir::check_free`]; [`GradusError::Io`] if a file cannot be removed.
    pub fn claim(&self, overwrite: bool) -> Result<(), GradusError> {
        remove(&self.dir, &self.check_free(overwrite)?)
    }

    /// Resumes `trainer` and `model` from the run's checkpoint, and reads
    /// the run's history up to it. Nothing changes on an error; the
    /// checkpoint is returned for its metadata.
    ///
    /// # Errors
    /// [`GradusError::OtherRun`] for a checkpoint of another
    /// configuration; [`GradusError::Config`] for a missing checkpoint, a metrics.csv or sharpness.csv that is not
    /// this run's; [`GradusError::Nn`] for a checkpoint that is corrupt or
    /// does not fit the model, or cannot be read.
    pub fn resume<T: Float>(
        &mut self,
        trainer: &mut Trainer<T>,
        model: &dyn Module<T>,
    ) -> Result<Checkpoint, GradusError> {
        let path = self.checkpoint();
        if !path.exists() {
            return Err(GradusError::Config(format!(
                "{} holds no checkpoint.safetensors; start a fresh run there instead of resuming",
                self.dir.display()
            )));
        }
        let ck = Checkpoint::load(&path)?;
        // A fresh trainer is checked first: nothing changes on a refusal.
        trainer.resume_from(model, &ck, &path).map_err(|e| match e {
            GradusError::Optimizer(_) | GradusError::Sched(_) => {
                GradusError::Config(format!("{}: {e}", path.display()))
            }
            other => other,
        })?;
        let (rows, metrics) = history(&self.dir.join("metrics.csv"), trainer.epochs())?;
        let sharpness = match trainer.sharpness_every() {
            Some(_) => {
                sharpness_history(&self.dir.join("sharpness.csv"), trainer.counters().0, trainer.ggn_sharpness())?
            }
            None => Vec::new(),
        };
        if trainer.trajectory_every().is_some() {
            let file = self.dir.join(crate::trajectory::TRAJECTORY_FILE);
            if !file.exists() {
                return Err(GradusError::Config(format!(
                    "{} is missing: the run keeps its trajectory there (--trajectory-every)",
                    file.display()
                )));
            }
            let dimension = model.named_parameters().iter().map(|(_, p)| p.numel()).sum();
            trainer.restore_trajectory(crate::trajectory::load_trajectory(&file, dimension)?);
        }
        (self.rows, self.metrics, self.sharpness_before) = (rows, metrics, sharpness);
        Ok(ck)
    }

    /// Every epoch of the run so far, those before a resume included.
    pub fn metrics(&self) -> &[EpochMetrics] {
        &self.metrics
    }

    /// Adds an epoch to the history (written by the next [`RunDir::save`]).
    pub fn push(&mut self, m: EpochMetrics) {
        if self.rows.is_empty() {
            self.rows.push(m.csv_header());
        }
        self.rows.push(m.csv_row());
        self.metrics.push(m);
    }

    /// Writes metrics.csv, sharpness.csv and sharpness.svg (when the
    /// trainer measures sharpness; the CSV even before the first
    /// measurement, so a resume finds it), trajectory.safetensors (when it
    /// keeps one), then the checkpoint: after a
    /// crash at any point the checkpoint is never ahead of the CSVs.
    ///
    /// # Errors
    /// [`GradusError::Io`], [`GradusError::Nn`] or [`GradusError::Plot`]
    /// when a file cannot be written.
    pub fn save<T: Float>(&self, trainer: &Trainer<T>, model: &dyn Module<T>) -> Result<(), GradusError> {
        self.keep();
        write(&self.dir.join("metrics.csv"), &(self.rows.join("\n") + "\n"))?;
        if trainer.sharpness_every().is_some() {
            let all: Vec<SharpnessPoint> = self.sharpness_before.iter().chain(trainer.sharpness()).copied().collect();
            let header = if trainer.ggn_sharpness() { SHARPNESS_GGN_HEADER } else { SHARPNESS_HEADER };
            let mut text = format!("{header}\n");
            for p in &all {
                text += &(p.csv_row() + "\n");
            }
            write(&self.dir.join("sharpness.csv"), &text)?;
            if !all.is_empty() {
                let title = format!("{}: sharpness on the monitoring subset", self.label);
                crate::plot::sharpness(&self.dir.join("sharpness.svg"), &title, &[(self.label.clone(), all)])?;
            }
        }
        if trainer.trajectory_every().is_some() {
            crate::trajectory::save_trajectory(
                &self.dir.join(crate::trajectory::TRAJECTORY_FILE),
                trainer.trajectory(),
            )?;
        }
        trainer.save(model, &self.checkpoint())
    }

    /// Draws learning_curve.svg from every epoch so far (none: no file).
    ///
    /// # Errors
    /// [`GradusError::Plot`] when it cannot be written.
    pub fn plot(&self) -> Result<(), GradusError> {
        if self.metrics.is_empty() {
            return Ok(());
        }
        crate::plot::learning_curves(
            &self.dir.join("learning_curve.svg"),
            &[(self.label.clone(), self.metrics.clone())],
        )
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        let created = self.created.take();
        if !created.is_empty() && self.lock.take().is_some() {
            // Nothing was saved into the directories this made: they go
            // again (each only if empty, so nothing else is lost).
            let _ = std::fs::remove_file(self.dir.join(".gradus.lock"));
            for d in created {
                let _ = std::fs::remove_dir(d);
            }
        }
    }
}

/// Holds `dir` for this process (the lock goes with the process, however it
/// ends). Also for a directory of several runs.
///
/// # Errors
/// [`GradusError::Config`] when another process holds it; [`GradusError::Io`].
pub fn lock(dir: &Path) -> Result<File, GradusError> {
    let path = dir.join(".gradus.lock");
    let file = File::create(&path).map_err(|e| io(&path, e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(GradusError::Config(format!(
            "{}: another gradus process is writing this run; wait for it or choose another directory",
            dir.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => Err(io(&path, e)),
    }
}

/// The files of `names` present in `dir`: none, or any with `overwrite`;
/// otherwise [`GradusError::Occupied`] naming them.
///
/// # Errors
/// As said.
pub fn free<'a>(dir: &Path, names: &[&'a str], overwrite: bool) -> Result<Vec<&'a str>, GradusError> {
    let present: Vec<&str> = names.iter().copied().filter(|n| dir.join(n).exists()).collect();
    if !present.is_empty() && !overwrite {
        return Err(GradusError::Occupied {
            dir: dir.display().to_string(),
            files: present.iter().map(|s| s.to_string()).collect(),
        });
    }
    Ok(present)
}

/// Removes `names` from `dir`.
///
/// # Errors
/// [`GradusError::Io`] naming the file that could not be removed.
pub fn remove(dir: &Path, names: &[&str]) -> Result<(), GradusError> {
    for n in names {
        let path = dir.join(n);
        std::fs::remove_file(&path).map_err(|e| io(&path, e))?;
    }
    Ok(())
}

/// Why a file may not be written as a command's output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Clash {
    /// It is this input of the command (the same file by another name too).
    Input(PathBuf),
    /// It is a directory.
    Directory,
    /// It exists, and replacing it was not asked for.
    Exists,
}

/// The rule for a file a command writes beside its inputs (a plot): not
/// one of `inputs`, not a directory, and new unless `overwrite`. Changes
/// nothing; the caller words the refusal.
///
/// ```
/// # use gradus::run::{Clash, output_clash};
/// let dir = std::env::temp_dir();
/// assert_eq!(output_clash(&dir, &[], true), Some(Clash::Directory));
/// assert_eq!(output_clash(&dir.join("no-such-file.svg"), &[], false), None);
/// ```
pub fn output_clash(output: &Path, inputs: &[&Path], overwrite: bool) -> Option<Clash> {
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if let Some(input) = inputs.iter().find(|i| same(output, i)) {
        return Some(Clash::Input(input.to_path_buf()));
    }
    if output.is_dir() {
        return Some(Clash::Directory);
    }
    (output.exists() && !overwrite).then_some(Clash::Exists)
}

fn write(path: &Path, text: &str) -> Result<(), GradusError> {
    gradus_nn::write_atomic(path, text.as_bytes()).map_err(|e| io(path, e))
}

/// A run's metrics.csv: its lines and the epochs they hold.
type History = (Vec<String>, Vec<EpochMetrics>);

/// The first `epochs` epochs of `csv` (the checkpoint's count).
fn history(csv: &Path, epochs: usize) -> Result<History, GradusError> {
    let text = std::fs::read_to_string(csv).map_err(|e| GradusError::Config(format!("{}: {e}", csv.display())))?;
    let rows: Vec<String> = text.lines().take(epochs + 1).map(str::to_string).collect();
    if rows.len() < epochs + 1 {
        return Err(GradusError::Config(format!(
            "{} holds {} epochs, the checkpoint {epochs}; the two are not of one run",
            csv.display(),
            rows.len().saturating_sub(1)
        )));
    }
    let parsed = rows[1..]
        .iter()
        .enumerate()
        .map(|(i, r)| {
            EpochMetrics::from_csv(&rows[0], r)
                .map_err(|e| GradusError::Config(format!("{}:{}: {e}", csv.display(), i + 2)))
        })
        .collect::<Result<_, _>>()?;
    Ok((rows, parsed))
}

/// The sharpness measured up to step `steps` (the checkpoint's), from
/// sharpness.csv.
fn sharpness_history(path: &Path, steps: usize, ggn: bool) -> Result<Vec<SharpnessPoint>, GradusError> {
    let text = std::fs::read_to_string(path).map_err(|e| GradusError::Config(format!("{}: {e}", path.display())))?;
    let header = if ggn { SHARPNESS_GGN_HEADER } else { SHARPNESS_HEADER };
    if text.lines().next() != Some(header) {
        return Err(GradusError::Config(format!(
            "{} does not start with the header {header}; it is not this run's sharpness",
            path.display()
        )));
    }
    let mut points = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        let p = SharpnessPoint::from_csv(line, ggn)
            .map_err(|e| GradusError::Config(format!("{}:{}: {e}", path.display(), i + 1)))?;
        if p.step <= steps {
            points.push(p);
        }
    }
    Ok(points)
}
