//! Image augmentation as torchvision has it (`RandomCrop(size, padding)`,
//! `RandomHorizontalFlip`, `Normalize(mean, std)`), for examples shaped
//! `[C, H, W]` (or `[H, W]`, one channel). Every random choice is a pure
//! function of (seed, epoch, example index), so an epoch's batches are the
//! same for any number of loader workers and a resumed run draws what the
//! uninterrupted one drew. [`DataLoader::augment`](crate::DataLoader::augment)
//! applies it to each epoch.

use crate::dataset::{Dataset, Sample, Target};
use crate::error::{DataError, Result};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::sync::Arc;

/// What to do to each training image, in torchvision's order: crop, flip,
/// normalise.
///
/// ```
/// use gradus_data::Augment;
///
/// let a = Augment::new(0).crop(4).flip();
/// let image: Vec<f64> = (0..16).map(f64::from).collect();
/// let (mut x, mut y) = (image.clone(), image.clone());
/// a.apply(&mut x, &[1, 4, 4], 3, 17).unwrap();
/// a.apply(&mut y, &[1, 4, 4], 3, 17).unwrap();
/// assert_eq!(x, y); // the same (epoch, index), the same draw
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Augment {
    seed: u64,
    crop_padding: Option<usize>,
    flip: bool,
    normalize: Option<(Vec<f64>, Vec<f64>)>,
}

/// SplitMix64's finaliser: spreads (seed, epoch, index) over the generator's seed.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Augment {
    /// No augmentation yet; random choices drawn from `seed`.
    pub fn new(seed: u64) -> Self {
        Self { seed, crop_padding: None, flip: false, normalize: None }
    }

    /// A random crop of the image's own size from the image padded with
    /// `padding` zeros on every side (`RandomCrop(H, padding)`).
    #[must_use]
    pub fn crop(mut self, padding: usize) -> Self {
        self.crop_padding = Some(padding);
        self
    }

    /// A left–right flip with probability ½ (`RandomHorizontalFlip`).
    #[must_use]
    pub fn flip(mut self) -> Self {
        self.flip = true;
        self
    }

    /// `(x − mean[c]) / std[c]` per channel (`Normalize`), after the random steps.
    #[must_use]
    pub fn normalize(mut self, mean: Vec<f64>, std: Vec<f64>) -> Self {
        self.normalize = Some((mean, std));
        self
    }

    /// How many channels the normalisation is for (its means), if any:
    /// images with another channel count are refused when augmented.
    pub fn normalized_channels(&self) -> Option<usize> {
        self.normalize.as_ref().map(|(mean, _)| mean.len())
    }

    /// The same normalisation without the random steps: what evaluation
    /// data gets when training data is augmented.
    #[must_use]
    pub fn deterministic(&self) -> Self {
        Self { seed: self.seed, crop_padding: None, flip: false, normalize: self.normalize.clone() }
    }

    /// Augments one image of `shape` (`[C, H, W]` or `[H, W]`) in place, as
    /// example `index` of `epoch`.
    ///
    /// # Errors
    /// A shape that is not an image, a normalisation with a channel count
    /// other than the image's, or a standard deviation that is not positive.
    pub fn apply(&self, x: &mut [f64], shape: &[usize], epoch: u64, index: usize) -> Result<()> {
        let [c, h, w] = match *shape {
            [c, h, w] => [c, h, w],
            [h, w] => [1, h, w],
            _ => return Err(DataError::Invalid(format!("augment: examples must be images [C, H, W], got {shape:?}"))),
        };
        if x.len() != c * h * w {
            return Err(DataError::Invalid(format!("augment: {} values for an image {shape:?}", x.len())));
        }
        let mut rng = StdRng::seed_from_u64(mix(mix(self.seed ^ mix(epoch)) ^ index as u64));
        if let Some(p) = self.crop_padding {
            // The crop's corner in the padded image: 0..=2p in each axis.
            let (dy, dx) =
                (rng.random_range(0..=2 * p) as isize - p as isize, rng.random_range(0..=2 * p) as isize - p as isize);
            let src = x.to_vec();
            for ch in 0..c {
                for i in 0..h {
                    for j in 0..w {
                        let (si, sj) = (i as isize + dy, j as isize + dx);
                        let inside = si >= 0 && sj >= 0 && (si as usize) < h && (sj as usize) < w;
                        x[(ch * h + i) * w + j] =
                            if inside { src[(ch * h + si as usize) * w + sj as usize] } else { 0.0 };
                    }
                }
            }
        }
        if self.flip && rng.random_bool(0.5) {
            x.chunks_mut(w).for_each(<[f64]>::reverse);
        }
        if let Some((mean, std)) = &self.normalize {
            if mean.len() != c || std.len() != c {
                return Err(DataError::Invalid(format!(
                    "augment: normalize has {} means and {} standard deviations for {c} channels",
                    mean.len(),
                    std.len()
                )));
            }
            if let Some(s) = std.iter().find(|s| s.is_nan() || **s <= 0.0) {
                return Err(DataError::Invalid(format!("augment: standard deviations must be positive, got {s}")));
            }
            for (ch, plane) in x.chunks_mut(h * w).enumerate() {
                plane.iter_mut().for_each(|v| *v = (*v - mean[ch]) / std[ch]);
            }
        }
        Ok(())
    }
}

/// A dataset seen through an [`Augment`] in one epoch.
pub(crate) struct Augmented {
    pub(crate) inner: Arc<dyn Dataset>,
    pub(crate) augment: Arc<Augment>,
    pub(crate) epoch: u64,
}

impl Dataset for Augmented {
    fn len(&self) -> usize {
        self.inner.len()
    }

    fn feature_shape(&self) -> Vec<usize> {
        self.inner.feature_shape()
    }

    fn get(&self, index: usize) -> Result<Sample> {
        let mut features = Vec::new();
        let target = self.get_into(index, &mut features)?;
        Ok(Sample { features, target })
    }

    fn get_into(&self, index: usize, features: &mut Vec<f64>) -> Result<Target> {
        let target = self.inner.get_into(index, features)?;
        self.augment.apply(features, &self.inner.feature_shape(), self.epoch, index)?;
        Ok(target)
    }

    fn prefetch(&self, index: usize) {
        self.inner.prefetch(index);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image() -> Vec<f64> {
        (0..2 * 3 * 4).map(f64::from).collect()
    }

    #[test]
    fn a_crop_shifts_and_pads_with_zeros() {
        let a = Augment::new(5).crop(1);
        let mut seen = std::collections::BTreeSet::new();
        for index in 0..200 {
            let mut x = image();
            a.apply(&mut x, &[2, 3, 4], 0, index).unwrap();
            // Every crop is the image shifted by at most one row and column.
            let shifted = (-1..=1).flat_map(|dy| (-1..=1).map(move |dx| (dy, dx))).find(|&(dy, dx)| {
                (0..2).all(|c| {
                    (0..3).all(|i| {
                        (0..4).all(|j| {
                            let (si, sj) = (i as isize + dy, j as isize + dx);
                            let want = if (0..3).contains(&si) && (0..4).contains(&sj) {
                                ((c * 3 + si as usize) * 4 + sj as usize) as f64
                            } else {
                                0.0
                            };
                            x[(c * 3 + i) * 4 + j] == want
                        })
                    })
                })
            });
            seen.insert(shifted.expect("a shift of at most 1"));
        }
        assert_eq!(seen.len(), 9, "every shift is drawn: {seen:?}");
    }

    #[test]
    fn flips_mirror_rows_about_half_the_time_and_normalise_per_channel() {
        let a = Augment::new(1).flip().normalize(vec![1.0, 2.0], vec![2.0, 4.0]);
        let mut flipped = 0;
        for index in 0..400 {
            let mut x = image();
            a.apply(&mut x, &[2, 3, 4], 7, index).unwrap();
            if x[0] == (3.0 - 1.0) / 2.0 {
                flipped += 1;
                assert_eq!(x[12], (15.0 - 2.0) / 4.0);
            } else {
                assert_eq!((x[0], x[12]), ((0.0 - 1.0) / 2.0, (12.0 - 2.0) / 4.0));
            }
        }
        assert!((150..250).contains(&flipped), "{flipped} of 400");
    }

    #[test]
    fn draws_depend_on_epoch_and_index_only() {
        let a = Augment::new(9).crop(2).flip();
        let draw = |epoch, index| {
            let mut x = image();
            a.apply(&mut x, &[2, 3, 4], epoch, index).unwrap();
            x
        };
        assert_eq!(draw(3, 11), draw(3, 11));
        let differ = (0..20).filter(|&i| draw(3, i) != draw(4, i)).count();
        assert!(differ > 10, "{differ}");
    }

    #[test]
    fn bad_shapes_and_statistics_are_errors() {
        let a = Augment::new(0).normalize(vec![0.5], vec![0.0]);
        let mut x = vec![0.0; 4];
        assert!(a.apply(&mut x, &[1, 2, 2], 0, 0).unwrap_err().to_string().contains("positive"));
        assert!(a.apply(&mut x, &[4], 0, 0).unwrap_err().to_string().contains("images"));
        let b = Augment::new(0).normalize(vec![0.5, 0.5], vec![1.0, 1.0]);
        assert!(b.apply(&mut x, &[1, 2, 2], 0, 0).unwrap_err().to_string().contains("2 means"));
    }
}
