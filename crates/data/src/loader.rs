//! `DataLoader`: mini-batches collated into contiguous tensors, prefetched
//! by worker threads through bounded queues or, without workers, read one
//! batch ahead on rayon's pool, in the same order whatever the number of
//! workers.

use crate::dataset::{Dataset, Target};
use crate::error::{DataError, Result};
use crate::sampler::{Sampler, SequentialSampler, ShuffledSampler, batches, shard_range};
pub use gradus_tensor::BatchTargets;
use gradus_tensor::{Float, Tensor};
use rayon::prelude::*;
use std::panic::{AssertUnwindSafe, resume_unwind};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, sync_channel};
use std::thread::JoinHandle;

/// A mini-batch: features `[b, …]` and targets.
#[derive(Clone, Debug)]
pub struct Batch<T: Float> {
    /// Features, contiguous, `[b]` followed by the feature shape.
    pub features: Tensor<T>,
    /// Targets.
    pub targets: BatchTargets<T>,
    /// The row of the full batch that this batch's first row is: 0, unless
    /// the loader hands out one shard of each batch ([`DataLoader::shard`]).
    pub first_row: usize,
    /// The number of examples in the full batch (this batch's own, unless
    /// sharded).
    pub full_len: usize,
}

/// Loads mini-batches of a dataset, epoch by epoch.
///
/// ```
/// use std::sync::Arc;
/// use gradus_data::{BatchTargets, DataLoader, Features, InMemory, Targets};
/// let ds = InMemory::new(Features::U8((0..20).collect()), vec![2], Targets::Classes((0..10).collect())).unwrap();
/// let loader = DataLoader::new(Arc::new(ds), 4).shuffle(7).workers(2);
/// let batches: Vec<_> = loader.epoch::<f32>(0).collect::<Result<_, _>>().unwrap();
/// assert_eq!(batches.len(), 3); // 4 + 4 + 2
/// assert_eq!(batches[0].features.shape(), &[4, 2]);
/// let BatchTargets::Classes(y) = &batches[2].targets else { unreachable!() };
/// assert_eq!(y.shape(), &[2]);
/// ```
#[derive(Clone)]
pub struct DataLoader {
    dataset: Arc<dyn Dataset>,
    sampler: Arc<dyn Sampler>,
    batch_size: usize,
    drop_last: bool,
    workers: usize,
    prefetch: usize,
    augment: Option<Arc<crate::Augment>>,
    shard: (usize, usize),
}

impl DataLoader {
    /// Batches of `batch_size` in order, no workers.
    ///
    /// # Panics
    /// If `batch_size` is 0.
    pub fn new(dataset: Arc<dyn Dataset>, batch_size: usize) -> Self {
        assert!(batch_size > 0, "DataLoader: batch_size must be positive");
        let sampler = Arc::new(SequentialSampler(dataset.len()));
        Self { dataset, sampler, batch_size, drop_last: false, workers: 0, prefetch: 2, augment: None, shard: (0, 1) }
    }

    /// A shuffled sweep per epoch from `seed`.
    #[must_use]
    pub fn shuffle(mut self, seed: u64) -> Self {
        self.sampler = Arc::new(ShuffledSampler { len: self.dataset.len(), seed });
        self
    }

    /// Any sampler.
    #[must_use]
    pub fn sampler(mut self, sampler: Arc<dyn Sampler>) -> Self {
        self.sampler = sampler;
        self
    }

    /// Drop the last, shorter batch.
    #[must_use]
    pub fn drop_last(mut self, drop: bool) -> Self {
        self.drop_last = drop;
        self
    }

    /// Background worker threads. With 0 (the default) the next batch is
    /// read on rayon's pool while the caller trains on the current one, as a
    /// job that the pool's idle threads pick up in the gaps of the step; a
    /// batch of at least [`PARALLEL_COLLATE_MIN`] values is split across
    /// the pool's threads.
    #[must_use]
    pub fn workers(mut self, workers: usize) -> Self {
        self.workers = workers;
        self
    }

    /// Augments every example of every epoch (a training loader's random
    /// crops and flips); the draws are a pure function of the augment's
    /// seed, the epoch and the example's index.
    #[must_use]
    pub fn augment(mut self, augment: crate::Augment) -> Self {
        self.augment = Some(Arc::new(augment));
        self
    }

    /// Hands out part `part` of `parts` of every batch: the batches are
    /// planned as without sharding, then each is cut into `parts`
    /// contiguous runs of rows ([`shard_range`]: sizes differ by at most
    /// one, the larger first) and this loader reads only its run. The
    /// processes of a data-parallel run each take one part of the same
    /// global batches; [`Batch::first_row`] and [`Batch::full_len`] say
    /// where the part sits.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use gradus_data::{DataLoader, Features, InMemory, Targets};
    /// let ds = Arc::new(InMemory::new(Features::U8((0..10).collect()), vec![1], Targets::Classes(vec![0; 10])).unwrap());
    /// let part = DataLoader::new(ds, 4).shard(1, 3);
    /// let rows: Vec<_> = part.epoch::<f32>(0).map(|b| b.unwrap()).map(|b| (b.features.to_vec(), b.first_row, b.full_len)).collect();
    /// assert_eq!(rows, vec![(vec![2.0], 2, 4), (vec![6.0], 2, 4), (vec![9.0], 1, 2)]);
    /// ```
    ///
    /// # Panics
    /// If `parts` is 0 or `part >= parts`.
    #[must_use]
    pub fn shard(mut self, part: usize, parts: usize) -> Self {
        assert!(part < parts, "DataLoader::shard: part {part} of {parts} does not exist");
        self.shard = (part, parts);
        self
    }

    /// Batches each worker may have ready ahead (at least 1).
    #[must_use]
    pub fn prefetch(mut self, batches: usize) -> Self {
        self.prefetch = batches.max(1);
        self
    }

    /// The number of batches per epoch.
    pub fn len(&self, epoch: u64) -> usize {
        batches(&self.sampler.indices(epoch), self.batch_size, self.drop_last).len()
    }

    /// Whether an epoch has no batches.
    pub fn is_empty(&self, epoch: u64) -> bool {
        self.len(epoch) == 0
    }

    /// The batches of `epoch`, collated into `T`.
    pub fn epoch<T: Float>(&self, epoch: u64) -> Epoch<T> {
        let full = batches(&self.sampler.indices(epoch), self.batch_size, self.drop_last);
        let (part, parts) = self.shard;
        let spans: Vec<(usize, usize)> =
            full.iter().map(|b| (shard_range(b.len(), part, parts).start, b.len())).collect();
        let plan = Arc::new(if parts == 1 {
            full
        } else {
            full.into_iter().map(|b| b[shard_range(b.len(), part, parts)].to_vec()).collect()
        });
        // Augmented examples are drawn from (seed, epoch, index): the same
        // for any number of workers.
        let dataset: Arc<dyn Dataset> = match &self.augment {
            Some(a) => {
                Arc::new(crate::augment::Augmented { inner: Arc::clone(&self.dataset), augment: Arc::clone(a), epoch })
            }
            None => Arc::clone(&self.dataset),
        };
        let mut channels = Vec::new();
        let mut handles = Vec::new();
        for w in 0..self.workers {
            let (tx, rx) = sync_channel(self.prefetch);
            let (dataset, plan) = (Arc::clone(&dataset), Arc::clone(&plan));
            let workers = self.workers;
            handles.push(std::thread::spawn(move || work(&*dataset, &plan, w, workers, &tx)));
            channels.push(rx);
        }
        Epoch { dataset, plan, spans, next: 0, channels, handles, ahead: None }
    }
}

/// A batch as a worker or a read-ahead job hands it over: read, failed,
/// or the panic of the dataset or transform that read it.
type Handed<T> = std::thread::Result<Result<Batch<T>>>;

/// Worker `w` of `n` collates batches w, w + n, … in order and sends them;
/// it stops at the first error or panic (sent too, so the caller sees the
/// same error or panic, with its message, as without workers) or when the
/// epoch is dropped.
fn work<T: Float>(dataset: &dyn Dataset, plan: &[Vec<usize>], w: usize, n: usize, tx: &SyncSender<Handed<T>>) {
    for indices in plan.iter().skip(w).step_by(n) {
        let batch = std::panic::catch_unwind(AssertUnwindSafe(|| collate(dataset, indices)));
        let failed = !matches!(batch, Ok(Ok(_)));
        if tx.send(batch).is_err() || failed {
            return;
        }
    }
}

/// Gathers the examples at `indices` into one batch, on this thread.
///
/// # Errors
/// Whatever reading an example fails with, or targets of mixed kinds.
pub fn collate<T: Float>(dataset: &dyn Dataset, indices: &[usize]) -> Result<Batch<T>> {
    collate_in(dataset, indices, false)
}

/// Batches with at least this many feature values are read on all of
/// rayon's threads when the loader has no workers: reading a shuffled
/// example waits on memory, and the training thread's pool is otherwise idle
/// meanwhile (a Fashion-MNIST batch of 128 is 100 k values).
pub const PARALLEL_COLLATE_MIN: usize = 1 << 15;

/// [`collate`], with the examples read side by side on all of rayon's
/// threads if `split` and the batch has at least [`PARALLEL_COLLATE_MIN`]
/// values; the batch is the same either way.
fn collate_in<T: Float>(dataset: &dyn Dataset, indices: &[usize], split: bool) -> Result<Batch<T>> {
    let shape = dataset.feature_shape();
    let per: usize = shape.iter().product();
    let b = indices.len();
    let parts = if split && b.saturating_mul(per) >= PARALLEL_COLLATE_MIN { rayon::current_num_threads() } else { 1 };
    let mut fshape = vec![b];
    fshape.extend(&shape);
    // From the tensor buffer pool: in a training loop each batch reuses the
    // memory of one dropped before it, without fresh pages. Every row is
    // written below (or the batch is an error), so no zeros first.
    let mut features = Tensor::<T>::empty(&fshape);
    let rows = features.data_mut();
    let targets = if parts > 1 && per > 0 && b > 1 {
        let chunk = b.div_ceil(parts);
        let runs: Vec<Result<Vec<Target>>> = indices
            .par_chunks(chunk)
            .zip(rows.par_chunks_mut(chunk * per))
            .map(|(ix, rows)| read_rows(dataset, ix, rows, per))
            .collect();
        gradus_tensor::note_parallel_work();
        let mut targets = Vec::with_capacity(b);
        for run in runs {
            targets.extend(run?);
        }
        targets
    } else {
        read_rows(dataset, indices, rows, per)?
    };
    let (mut classes, mut values, mut width, mut steps) = (Vec::new(), Vec::new(), None, None);
    for (&i, target) in indices.iter().zip(targets) {
        match target {
            Target::Class(c) if values.is_empty() && steps.is_none() => classes.push(c),
            Target::Sequence(s) if values.is_empty() && steps.is_none_or(|t| t == s.len()) => {
                if steps.is_none() && !classes.is_empty() {
                    return Err(DataError::Invalid(format!("example {i}: targets of mixed kinds in one batch")));
                }
                steps = Some(s.len());
                classes.extend(s);
            }
            Target::Values(v) if classes.is_empty() && width.is_none_or(|w| w == v.len()) => {
                width = Some(v.len());
                values.extend(v.iter().map(|&x| T::of(x)));
            }
            _ => return Err(DataError::Invalid(format!("example {i}: targets of mixed kinds or widths in one batch"))),
        }
    }
    let targets = match width {
        Some(w) => BatchTargets::Values(Tensor::from_vec(values, &[b, w]).expect("sizes checked")),
        None => {
            let shape: &[usize] = match steps {
                Some(t) => &[b, t],
                None => &[b],
            };
            BatchTargets::Classes(Tensor::from_vec(classes, shape).expect("one per example or position"))
        }
    };
    Ok(Batch { features, targets, first_row: 0, full_len: b })
}

/// The examples at `indices` written into `rows` (`per` values each); their
/// targets in order.
fn read_rows<T: Float>(dataset: &dyn Dataset, indices: &[usize], rows: &mut [T], per: usize) -> Result<Vec<Target>> {
    let mut scratch = Vec::with_capacity(per);
    let mut targets = Vec::with_capacity(indices.len());
    for (k, &i) in indices.iter().enumerate() {
        if let Some(&next) = indices.get(k + 1) {
            dataset.prefetch(next);
        }
        targets.push(dataset.get_into(i, &mut scratch)?);
        if scratch.len() != per {
            return Err(DataError::Invalid(format!("example {i} has {} features, expected {per}", scratch.len())));
        }
        let row = &mut rows[k * per..(k + 1) * per];
        gradus_tensor::with_avx2(
            #[inline(always)]
            || row.iter_mut().zip(&scratch).for_each(|(r, &x)| *r = T::of(x)),
        );
    }
    Ok(targets)
}

/// The batches of one epoch, in sampler order. Dropping it stops the workers.
pub struct Epoch<T: Float> {
    dataset: Arc<dyn Dataset>,
    plan: Arc<Vec<Vec<usize>>>,
    /// (first row, full length) of each batch's part.
    spans: Vec<(usize, usize)>,
    next: usize,
    channels: Vec<Receiver<Handed<T>>>,
    handles: Vec<JoinHandle<()>>,
    /// Without workers: the next batch, being read on the pool meanwhile.
    ahead: Option<Receiver<Handed<T>>>,
}

impl<T: Float> Epoch<T> {
    /// Starts reading batch `i` as a rayon job, which an idle thread of the
    /// pool picks up while the caller trains on the batch before it.
    fn read_ahead(&mut self, i: usize) {
        let (tx, rx) = sync_channel(1);
        let (dataset, plan) = (Arc::clone(&self.dataset), Arc::clone(&self.plan));
        rayon::spawn(move || {
            // A panic (a dataset's or transform's) goes back to the caller,
            // as when it reads on its own thread; rayon would abort on it.
            let read = std::panic::catch_unwind(AssertUnwindSafe(|| collate_in(&*dataset, &plan[i], true)));
            // The epoch may be gone (dropped early): then nobody wants it.
            let _ = tx.send(read);
        });
        self.ahead = Some(rx);
    }
}

/// The batch of a [`Epoch::read_ahead`] job, or its panic resumed here. A
/// thread of the pool runs queued jobs while it waits, so that the job
/// cannot sit behind it (on a pool of one it runs the job itself).
fn wait_for<T: Float>(rx: &Receiver<Handed<T>>, i: usize) -> Result<Batch<T>> {
    let stopped = || DataError::Invalid(format!("reading batch {i} stopped"));
    let done = |read: Handed<T>| read.unwrap_or_else(|panic| resume_unwind(panic));
    if rayon::current_thread_index().is_none() {
        return rx.recv().map_or_else(|_| Err(stopped()), done);
    }
    loop {
        match rx.try_recv() {
            Ok(read) => return done(read),
            Err(TryRecvError::Disconnected) => return Err(stopped()),
            Err(TryRecvError::Empty) => {
                if !matches!(rayon::yield_now(), Some(rayon::Yield::Executed)) {
                    std::hint::spin_loop();
                }
            }
        }
    }
}

impl<T: Float> Iterator for Epoch<T> {
    type Item = Result<Batch<T>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.plan.len() {
            return None;
        }
        let i = self.next;
        self.next += 1;
        let item = if self.channels.is_empty() {
            // Read on the pool: the batch after this one starts as soon as
            // this one is handed out, and the pool's threads read it in the
            // gaps of the caller's step.
            let item = match self.ahead.take() {
                Some(rx) => wait_for(&rx, i),
                None => collate_in(&*self.dataset, &self.plan[i], true),
            };
            if item.is_ok() && i + 1 < self.plan.len() {
                self.read_ahead(i + 1);
            }
            item
        } else {
            let w = i % self.channels.len();
            match self.channels[w].recv() {
                Ok(handed) => handed.unwrap_or_else(|panic| resume_unwind(panic)),
                Err(_) => Err(DataError::Invalid(format!("loader worker {w} stopped before batch {i}"))),
            }
        };
        if item.is_err() {
            self.next = self.plan.len(); // an error ends the epoch
        }
        Some(item.map(|mut b| {
            (b.first_row, b.full_len) = self.spans[i];
            b
        }))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.plan.len() - self.next;
        (left, Some(left))
    }
}

impl<T: Float> Drop for Epoch<T> {
    fn drop(&mut self) {
        self.channels.clear(); // senders fail, workers return
        for h in self.handles.drain(..) {
            let _ = h.join();
        }
    }
}
