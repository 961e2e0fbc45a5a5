//! gradus-data: everything between files on disk and mini-batches for SGD.
//!
//! - [`Dataset`] (length, example by index) and [`InMemory`], [`Subset`],
//!   [`random_split`], [`Concat`], [`Mapped`]; transforms in [`transforms`]
//!   (pixels to [0, 1], standardisation fitted on the training split,
//!   flatten, one-hot).
//! - Samplers, each a pure function of (seed, epoch): sequential, a
//!   shuffled sweep, uniform with replacement, weighted; [`batches`] with
//!   `drop_last`.
//! - [`DataLoader`]: contiguous batch tensors in f32 or f64, background
//!   workers with bounded queues, the same batches in the same order for
//!   any number of workers, errors from workers delivered in order.
//! - Readers: [`read_idx`] (raw or gzip, fully validated), [`read_csv`], and
//!   Fashion-MNIST / MNIST ([`mnist::load`]) from an explicit directory,
//!   `$GRADUS_DATA`, `./data` or `/usr/share/datasets`, or fetched on request
//!   ([`download::download`]: progress bar, MD5 checked, never a partial file).
//!
//! ```no_run
//! use std::sync::Arc;
//! use gradus_data::{DataLoader, mnist, transforms};
//! let (train, _test) = mnist::load(mnist::Mnist::Fashion, None)?;
//! let train = Arc::new(transforms::flatten(Arc::new(transforms::scale_u8(Arc::new(train)))));
//! let loader = DataLoader::new(train, 128).shuffle(0).workers(2);
//! for batch in loader.epoch::<f32>(0) {
//!     let batch = batch?; // features [128, 784] in [0, 1], class targets [128]
//!     # let _ = batch;
//! }
//! # Ok::<(), gradus_data::DataError>(())
//! ```

mod augment;
mod csv;
mod dataset;
pub mod download;
mod error;
mod idx;
mod loader;
pub mod mnist;
mod sampler;
mod text;
pub mod transforms;

pub use augment::Augment;
pub use csv::{CsvTarget, parse_csv, read_csv};
pub use dataset::{
    Concat, Dataset, Features, InMemory, Mapped, Sample, Subset, Target, Targets, Transform, random_split,
};
pub use error::{DataError, Result};
pub use idx::{Idx, IdxData, parse_idx, read_idx, write_idx_u8};
pub use loader::{Batch, BatchTargets, DataLoader, Epoch, PARALLEL_COLLATE_MIN, collate};
pub use sampler::{
    ReplacementSampler, Sampler, SequentialSampler, ShuffledSampler, WeightedSampler, batches, shard_range,
};
pub use text::{BYTES, TextWindows, read_text};
