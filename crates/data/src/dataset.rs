//! The `Dataset` trait, examples, and the datasets built from others:
//! in memory, subsets, seeded random splits, concatenation, mapping.

use crate::error::{DataError, Result};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use std::sync::Arc;

/// The target of one example.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    /// A class index.
    Class(usize),
    /// A class index per position of a sequence (the next byte of each
    /// position of a text window).
    Sequence(Vec<usize>),
    /// Values (regression targets, one-hot or soft labels).
    Values(Vec<f64>),
}

/// One example: its features (row-major, of the dataset's feature shape)
/// and its target.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// The features.
    pub features: Vec<f64>,
    /// The target.
    pub target: Target,
}

/// Random access to examples. Implementations are shared by loader
/// workers, hence `Send + Sync`.
pub trait Dataset: Send + Sync {
    /// The number of examples.
    fn len(&self) -> usize;

    /// Whether there are none.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The shape of one example's features (`[28, 28]` for an image).
    fn feature_shape(&self) -> Vec<usize>;

    /// Example `index`.
    ///
    /// # Errors
    /// [`DataError::Index`] past the end; whatever reading it may fail with.
    fn get(&self, index: usize) -> Result<Sample>;

    /// Example `index` with its features written into `features` (cleared
    /// first, its capacity reused) and its target returned: what the loader
    /// calls for every row, so a batch costs no allocation per example. The
    /// default goes through [`Dataset::get`]; datasets that can fill the
    /// buffer directly override it.
    ///
    /// # Errors
    /// As [`Dataset::get`].
    fn get_into(&self, index: usize, features: &mut Vec<f64>) -> Result<Target> {
        let sample = self.get(index)?;
        *features = sample.features;
        Ok(sample.target)
    }

    /// A hint that example `index` will be read soon: a dataset in memory
    /// asks the CPU to fetch its bytes meanwhile. The loader hints at the
    /// next example of a batch while it converts one, so a shuffled read
    /// does not wait on memory. It changes nothing observable; indices out
    /// of range are ignored. The default does nothing.
    fn prefetch(&self, index: usize) {
        let _ = index;
    }
}

/// Example `index` as a [`Sample`], read through [`Dataset::get_into`]: the
/// `get` of datasets whose real work is in `get_into`.
fn sample_of(ds: &dyn Dataset, index: usize) -> Result<Sample> {
    let mut features = Vec::new();
    let target = ds.get_into(index, &mut features)?;
    Ok(Sample { features, target })
}

impl<D: Dataset + ?Sized> Dataset for Arc<D> {
    fn len(&self) -> usize {
        (**self).len()
    }
    fn feature_shape(&self) -> Vec<usize> {
        (**self).feature_shape()
    }
    fn get(&self, index: usize) -> Result<Sample> {
        (**self).get(index)
    }
    fn get_into(&self, index: usize, features: &mut Vec<f64>) -> Result<Target> {
        (**self).get_into(index, features)
    }
    fn prefetch(&self, index: usize) {
        (**self).prefetch(index);
    }
}

/// Asks the CPU to bring `values` (if any) into its caches, one hint per
/// 64-byte line; nothing on targets without a prefetch instruction.
fn prefetch_slice<T>(values: Option<&[T]>) {
    #[cfg(target_arch = "x86_64")]
    if let Some(v) = values {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        let bytes = std::mem::size_of_val(v);
        let start = v.as_ptr().cast::<i8>();
        for offset in (0..bytes).step_by(64) {
            // SAFETY: a prefetch is only a hint, and `start + offset` lies
            // inside `v` (offset < its size in bytes).
            unsafe { _mm_prefetch::<_MM_HINT_T0>(start.add(offset)) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = values;
}

/// Feature storage of an in-memory dataset: bytes stay bytes until a
/// sample is taken (Fashion-MNIST is 47 MB as u8, 376 MB as f64).
#[derive(Clone, Debug, PartialEq)]
pub enum Features {
    /// Raw bytes (pixels).
    U8(Vec<u8>),
    /// Single precision.
    F32(Vec<f32>),
    /// Double precision.
    F64(Vec<f64>),
}

impl Features {
    fn len(&self) -> usize {
        match self {
            Features::U8(v) => v.len(),
            Features::F32(v) => v.len(),
            Features::F64(v) => v.len(),
        }
    }

    /// Asks the CPU to bring values `start..start + len` into its caches.
    fn prefetch(&self, start: usize, len: usize) {
        let Some(end) = start.checked_add(len) else { return };
        match self {
            Features::U8(v) => prefetch_slice(v.get(start..end)),
            Features::F32(v) => prefetch_slice(v.get(start..end)),
            Features::F64(v) => prefetch_slice(v.get(start..end)),
        }
    }

    /// Values `start..start + len` as f64, replacing the contents of `out`.
    fn copy_into(&self, start: usize, len: usize, out: &mut Vec<f64>) {
        out.clear();
        gradus_tensor::with_avx2(
            #[inline(always)]
            || match self {
                Features::U8(v) => out.extend(v[start..start + len].iter().map(|&x| f64::from(x))),
                Features::F32(v) => out.extend(v[start..start + len].iter().map(|&x| f64::from(x))),
                Features::F64(v) => out.extend_from_slice(&v[start..start + len]),
            },
        )
    }
}

/// Targets of an in-memory dataset.
#[derive(Clone, Debug, PartialEq)]
pub enum Targets {
    /// One class index per example.
    Classes(Vec<usize>),
    /// `width` values per example.
    Values {
        /// Row-major values.
        data: Vec<f64>,
        /// Values per example.
        width: usize,
    },
}

/// Features and targets held in memory.
///
/// ```
/// use gradus_data::{Dataset, Features, InMemory, Target, Targets};
/// let ds = InMemory::new(Features::U8(vec![0, 255, 10, 20]), vec![2], Targets::Classes(vec![1, 0])).unwrap();
/// assert_eq!(ds.len(), 2);
/// assert_eq!(ds.get(0).unwrap().features, vec![0.0, 255.0]);
/// assert_eq!(ds.get(1).unwrap().target, Target::Class(0));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct InMemory {
    features: Features,
    shape: Vec<usize>,
    targets: Targets,
}

impl InMemory {
    /// Examples of `shape` laid end to end in `features`, with their targets.
    ///
    /// # Errors
    /// [`DataError::Invalid`] when the counts do not agree.
    pub fn new(features: Features, shape: Vec<usize>, targets: Targets) -> Result<Self> {
        let per: usize = shape.iter().product();
        let n = match &targets {
            Targets::Classes(c) => c.len(),
            Targets::Values { data, width } => {
                if *width == 0 || data.len() % width != 0 {
                    return Err(DataError::Invalid(format!(
                        "{} target values do not split into rows of {width}",
                        data.len()
                    )));
                }
                data.len() / width
            }
        };
        if features.len() != n * per {
            return Err(DataError::Invalid(format!(
                "{} feature values for {n} examples of shape {shape:?} ({} expected)",
                features.len(),
                n * per
            )));
        }
        Ok(Self { features, shape, targets })
    }

    /// The targets.
    pub fn targets(&self) -> &Targets {
        &self.targets
    }
}

impl Dataset for InMemory {
    fn len(&self) -> usize {
        match &self.targets {
            Targets::Classes(c) => c.len(),
            Targets::Values { data, width } => data.len() / width,
        }
    }

    fn feature_shape(&self) -> Vec<usize> {
        self.shape.clone()
    }

    fn get(&self, index: usize) -> Result<Sample> {
        sample_of(self, index)
    }

    fn get_into(&self, index: usize, features: &mut Vec<f64>) -> Result<Target> {
        let len = self.len();
        if index >= len {
            return Err(DataError::Index { index, len });
        }
        let per: usize = self.shape.iter().product();
        self.features.copy_into(index * per, per, features);
        Ok(match &self.targets {
            Targets::Classes(c) => Target::Class(c[index]),
            Targets::Values { data, width } => Target::Values(data[index * width..(index + 1) * width].to_vec()),
        })
    }

    fn prefetch(&self, index: usize) {
        let per: usize = self.shape.iter().product();
        self.features.prefetch(index.saturating_mul(per), per);
    }
}

/// The examples of `inner` at `indices`, in that order.
#[derive(Clone)]
pub struct Subset {
    inner: Arc<dyn Dataset>,
    indices: Vec<usize>,
}

impl Subset {
    /// The examples of `inner` at `indices`.
    ///
    /// # Errors
    /// [`DataError::Index`] for an index past the end of `inner`.
    pub fn new(inner: Arc<dyn Dataset>, indices: Vec<usize>) -> Result<Self> {
        let len = inner.len();
        if let Some(&index) = indices.iter().find(|&&i| i >= len) {
            return Err(DataError::Index { index, len });
        }
        Ok(Self { inner, indices })
    }

    /// The indices into the underlying dataset.
    pub fn indices(&self) -> &[usize] {
        &self.indices
    }
}

impl Dataset for Subset {
    fn len(&self) -> usize {
        self.indices.len()
    }
    fn feature_shape(&self) -> Vec<usize> {
        self.inner.feature_shape()
    }
    fn get(&self, index: usize) -> Result<Sample> {
        let i = *self.indices.get(index).ok_or(DataError::Index { index, len: self.indices.len() })?;
        self.inner.get(i)
    }
    fn get_into(&self, index: usize, features: &mut Vec<f64>) -> Result<Target> {
        let i = *self.indices.get(index).ok_or(DataError::Index { index, len: self.indices.len() })?;
        self.inner.get_into(i, features)
    }
    fn prefetch(&self, index: usize) {
        if let Some(&i) = self.indices.get(index) {
            self.inner.prefetch(i);
        }
    }
}

/// Splits `dataset` into disjoint random subsets of the given sizes (which
/// must add up to its length), reproducibly from `seed`
/// (`torch.utils.data.random_split`).
///
/// ```
/// use std::sync::Arc;
/// use gradus_data::{Dataset, Features, InMemory, Targets, random_split};
/// let ds = Arc::new(InMemory::new(Features::F64((0..10).map(f64::from).collect()), vec![1], Targets::Classes(vec![0; 10])).unwrap());
/// let parts = random_split(ds, &[8, 2], 42).unwrap();
/// assert_eq!((parts[0].len(), parts[1].len()), (8, 2));
/// ```
///
/// # Errors
/// [`DataError::Invalid`] if the sizes do not add up.
pub fn random_split(dataset: Arc<dyn Dataset>, sizes: &[usize], seed: u64) -> Result<Vec<Subset>> {
    let n = dataset.len();
    if sizes.iter().sum::<usize>() != n {
        return Err(DataError::Invalid(format!("split sizes {sizes:?} do not add up to the dataset's {n} examples")));
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut StdRng::seed_from_u64(seed));
    let mut start = 0;
    sizes
        .iter()
        .map(|&s| {
            let part = order[start..start + s].to_vec();
            start += s;
            Subset::new(Arc::clone(&dataset), part)
        })
        .collect()
}

/// Datasets one after another.
#[derive(Clone)]
pub struct Concat {
    parts: Vec<Arc<dyn Dataset>>,
}

impl Concat {
    /// `parts` in order.
    ///
    /// # Errors
    /// [`DataError::Invalid`] if their feature shapes differ.
    pub fn new(parts: Vec<Arc<dyn Dataset>>) -> Result<Self> {
        if let Some(first) = parts.first() {
            let shape = first.feature_shape();
            if let Some(other) = parts.iter().find(|p| p.feature_shape() != shape) {
                return Err(DataError::Invalid(format!(
                    "cannot concatenate datasets of feature shapes {shape:?} and {:?}",
                    other.feature_shape()
                )));
            }
        }
        Ok(Self { parts })
    }
}

impl Dataset for Concat {
    fn len(&self) -> usize {
        self.parts.iter().map(|p| p.len()).sum()
    }
    fn feature_shape(&self) -> Vec<usize> {
        self.parts.first().map(|p| p.feature_shape()).unwrap_or_default()
    }
    fn get(&self, index: usize) -> Result<Sample> {
        let (part, i) = self.part_of(index).ok_or(DataError::Index { index, len: self.len() })?;
        part.get(i)
    }
    fn prefetch(&self, index: usize) {
        if let Some((part, i)) = self.part_of(index) {
            part.prefetch(i);
        }
    }
}

impl Concat {
    /// The part holding example `index`, and its index there.
    fn part_of(&self, mut index: usize) -> Option<(&dyn Dataset, usize)> {
        for part in &self.parts {
            if index < part.len() {
                return Some((&**part, index));
            }
            index -= part.len();
        }
        None
    }
}

/// A per-sample transform applied on access (see [`crate::transforms`]).
pub type Transform = Arc<dyn Fn(Sample) -> Result<Sample> + Send + Sync>;

/// `inner` with `transform` applied to every sample; `shape` is the feature
/// shape after it.
#[derive(Clone)]
pub struct Mapped {
    inner: Arc<dyn Dataset>,
    transform: Transform,
    shape: Vec<usize>,
}

impl Mapped {
    /// Applies `transform`, whose output features have `shape`.
    pub fn new(inner: Arc<dyn Dataset>, shape: Vec<usize>, transform: Transform) -> Self {
        Self { inner, transform, shape }
    }
}

impl Dataset for Mapped {
    fn len(&self) -> usize {
        self.inner.len()
    }
    fn feature_shape(&self) -> Vec<usize> {
        self.shape.clone()
    }
    fn get(&self, index: usize) -> Result<Sample> {
        sample_of(self, index)
    }

    /// The inner example read into `features`, moved through the transform
    /// and back: a transform that edits in place allocates nothing.
    fn get_into(&self, index: usize, features: &mut Vec<f64>) -> Result<Target> {
        let target = self.inner.get_into(index, features)?;
        let sample = (self.transform)(Sample { features: std::mem::take(features), target })?;
        let per: usize = self.shape.iter().product();
        if sample.features.len() != per {
            return Err(DataError::Invalid(format!(
                "a transform returned {} features for shape {:?}",
                sample.features.len(),
                self.shape
            )));
        }
        *features = sample.features;
        Ok(sample.target)
    }

    fn prefetch(&self, index: usize) {
        self.inner.prefetch(index);
    }
}
