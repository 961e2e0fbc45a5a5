//! Byte-level text: [`read_text`] splits files into training and held-out
//! bytes, and [`TextWindows`] cuts bytes into windows of `context` bytes
//! whose targets are the next byte at every position.

use crate::error::{DataError, Result};
use crate::{Dataset, Sample, Target};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::path::Path;
use std::sync::Arc;

/// The vocabulary of byte-level text.
pub const BYTES: usize = 256;

/// The training and held-out bytes of `paths`: each file's last 10%
/// (rounded down) held out, the rest for training, files joined in order.
///
/// # Errors
/// A file that cannot be read or is empty, or no paths.
pub fn read_text(paths: &[impl AsRef<Path>]) -> Result<(Vec<u8>, Vec<u8>)> {
    if paths.is_empty() {
        return Err(DataError::Invalid("no text files given".into()));
    }
    let (mut train, mut held_out) = (Vec::new(), Vec::new());
    for path in paths {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| DataError::Invalid(format!("{}: {e}", path.display())))?;
        if bytes.is_empty() {
            return Err(DataError::Invalid(format!("{}: the file is empty", path.display())));
        }
        let cut = bytes.len() - bytes.len() / 10;
        train.extend_from_slice(&bytes[..cut]);
        held_out.extend_from_slice(&bytes[cut..]);
    }
    Ok((train, held_out))
}

/// Windows of `context` bytes as examples: features the bytes (as
/// numbers 0–255), targets the byte after each ([`Target::Sequence`]).
///
/// ```
/// use gradus_data::{Dataset, Target, TextWindows};
/// let text = std::sync::Arc::new(b"abcdefg".to_vec());
/// let w = TextWindows::consecutive(text, 3).unwrap();
/// assert_eq!(w.len(), 2); // "abc" → "bcd", "def" → "efg"
/// let s = w.get(1).unwrap();
/// assert_eq!(s.features, [100.0, 101.0, 102.0]);
/// assert_eq!(s.target, Target::Sequence(vec![101, 102, 103]));
/// ```
#[derive(Clone, Debug)]
pub struct TextWindows {
    bytes: Arc<Vec<u8>>,
    context: usize,
    starts: Vec<usize>,
}

impl TextWindows {
    /// As many windows as the bytes hold whole (`len / context`), each at
    /// a start drawn uniformly from `seed` (a training epoch).
    ///
    /// # Errors
    /// If `context` is 0 or the bytes hold no window and its next byte.
    pub fn random(bytes: Arc<Vec<u8>>, context: usize, seed: u64) -> Result<Self> {
        let last = Self::last_start(&bytes, context)?;
        let mut rng = StdRng::seed_from_u64(seed);
        let starts = (0..bytes.len() / context).map(|_| rng.random_range(0..=last)).collect();
        Ok(Self { bytes, context, starts })
    }

    /// Consecutive windows from the start (a test set): window k starts
    /// at k·context, as many as have their next byte.
    ///
    /// # Errors
    /// As [`TextWindows::random`].
    pub fn consecutive(bytes: Arc<Vec<u8>>, context: usize) -> Result<Self> {
        Self::last_start(&bytes, context)?;
        let starts = (0..(bytes.len() - 1) / context).map(|k| k * context).collect();
        Ok(Self { bytes, context, starts })
    }

    fn last_start(bytes: &[u8], context: usize) -> Result<usize> {
        if context == 0 {
            return Err(DataError::Invalid("the context must be at least one byte".into()));
        }
        bytes.len().checked_sub(context + 1).ok_or_else(|| {
            DataError::Invalid(format!(
                "{} bytes hold no window of {context} and the byte after it; give more text or a shorter context",
                bytes.len()
            ))
        })
    }
}

impl Dataset for TextWindows {
    fn len(&self) -> usize {
        self.starts.len()
    }

    fn feature_shape(&self) -> Vec<usize> {
        vec![self.context]
    }

    fn get(&self, index: usize) -> Result<Sample> {
        let mut features = Vec::new();
        let target = self.get_into(index, &mut features)?;
        Ok(Sample { features, target })
    }

    fn get_into(&self, index: usize, features: &mut Vec<f64>) -> Result<Target> {
        let &start = self.starts.get(index).ok_or(DataError::Index { index, len: self.starts.len() })?;
        let window = &self.bytes[start..start + self.context + 1];
        features.clear();
        features.extend(window[..self.context].iter().map(|&b| f64::from(b)));
        Ok(Target::Sequence(window[1..].iter().map(|&b| usize::from(b)).collect()))
    }
}
