//! Per-sample transforms for [`Mapped`]: pixels to [0, 1],
//! standardisation with statistics computed once from the training split,
//! flattening, one-hot targets.

use crate::dataset::{Dataset, Mapped, Sample, Target, Transform};
use crate::error::{DataError, Result};
use std::sync::Arc;

/// Bytes 0..=255 to [0, 1].
pub fn scale_u8(inner: Arc<dyn Dataset>) -> Mapped {
    let shape = inner.feature_shape();
    Mapped::new(
        inner,
        shape,
        Arc::new(|mut s: Sample| {
            gradus_tensor::with_avx2(
                #[inline(always)]
                || s.features.iter_mut().for_each(|x| *x /= 255.0),
            );
            Ok(s)
        }),
    )
}

/// Every feature dimension into one: `[28, 28]` → `[784]`.
pub fn flatten(inner: Arc<dyn Dataset>) -> Mapped {
    let n = inner.feature_shape().iter().product();
    reshape(inner, vec![n])
}

/// The features seen in another shape of as many values: `[28, 28]` →
/// `[1, 28, 28]` (a channel axis for convolutions), the values unchanged.
///
/// # Panics
/// If `shape` does not hold as many values as the examples have.
#[track_caller]
pub fn reshape(inner: Arc<dyn Dataset>, shape: Vec<usize>) -> Mapped {
    let have: usize = inner.feature_shape().iter().product();
    assert_eq!(
        shape.iter().product::<usize>(),
        have,
        "reshape: {shape:?} does not hold the {have} values of examples shaped {:?}",
        inner.feature_shape()
    );
    Mapped::new(inner, shape, Arc::new(Ok))
}

/// Class targets as one-hot vectors of `classes` values.
pub fn one_hot(inner: Arc<dyn Dataset>, classes: usize) -> Mapped {
    let shape = inner.feature_shape();
    let f: Transform = Arc::new(move |s: Sample| match s.target {
        Target::Class(c) if c < classes => {
            let mut v = vec![0.0; classes];
            v[c] = 1.0;
            Ok(Sample { features: s.features, target: Target::Values(v) })
        }
        Target::Class(c) => Err(DataError::Invalid(format!("one_hot: class {c} is not below {classes}"))),
        Target::Values(_) | Target::Sequence(_) => Err(DataError::Invalid("one_hot: the target is not a class".into())),
    });
    Mapped::new(inner, shape, f)
}

/// Standardisation x ↦ (x − μ)/σ with μ, σ measured once on a training
/// split (one pair for all features, or one per feature), so inputs are
/// centred as the lectures advise; apply the same statistics to every split.
#[derive(Clone, Debug, PartialEq)]
pub struct Standardize {
    /// Means (one, or one per feature).
    pub mean: Vec<f64>,
    /// Standard deviations (population), same length.
    pub std: Vec<f64>,
}

impl Standardize {
    /// Measures `dataset` (in one pass, Welford's update).
    ///
    /// # Errors
    /// Whatever reading the dataset fails with; [`DataError::Invalid`] for
    /// an empty dataset or a constant feature (σ = 0).
    pub fn fit(dataset: &dyn Dataset, per_feature: bool) -> Result<Self> {
        let per: usize = dataset.feature_shape().iter().product();
        let width = if per_feature { per } else { 1 };
        let (mut count, mut mean, mut m2) = (vec![0u64; width], vec![0.0f64; width], vec![0.0f64; width]);
        for i in 0..dataset.len() {
            for (j, &x) in dataset.get(i)?.features.iter().enumerate() {
                let k = if per_feature { j } else { 0 };
                count[k] += 1;
                let d = x - mean[k];
                mean[k] += d / count[k] as f64;
                m2[k] += d * (x - mean[k]);
            }
        }
        if count.contains(&0) {
            return Err(DataError::Invalid("standardize: the dataset is empty".into()));
        }
        let std: Vec<f64> = m2.iter().zip(&count).map(|(m, &c)| (m / c as f64).sqrt()).collect();
        if let Some(k) = std.iter().position(|&s| s == 0.0) {
            return Err(DataError::Invalid(format!("standardize: feature {k} is constant (std 0)")));
        }
        Ok(Self { mean, std })
    }

    /// `inner` standardised with these statistics.
    pub fn apply(&self, inner: Arc<dyn Dataset>) -> Mapped {
        let shape = inner.feature_shape();
        let s = self.clone();
        Mapped::new(
            inner,
            shape,
            Arc::new(move |mut sample: Sample| {
                for (j, x) in sample.features.iter_mut().enumerate() {
                    let k = if s.mean.len() == 1 { 0 } else { j };
                    *x = (*x - s.mean[k]) / s.std[k];
                }
                Ok(sample)
            }),
        )
    }
}
