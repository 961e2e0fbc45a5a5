//! Constructors of float tensors: zeros, ones, ranges, identity, random
//! sampling, and conversion between f32 and f64.

use crate::error::{Result, TensorError};
use crate::storage::alloc;
use crate::{Float, Tensor};
use rand::Rng;

impl<T: Float> Tensor<T> {
    /// A tensor of `shape` filled with 0.
    pub fn zeros(shape: &[usize]) -> Self {
        Self::full(shape, T::zero())
    }

    /// A tensor of `shape` filled with 1.
    pub fn ones(shape: &[usize]) -> Self {
        Self::full(shape, T::one())
    }

    /// A tensor of `shape` whose values are unspecified, as `torch.empty`:
    /// its buffer comes from the pool, as every op's output does, holding
    /// whatever a dropped tensor left there (always valid numbers of `T`).
    /// For a buffer that will be overwritten whole, such as a batch the
    /// loader fills row by row, it saves [`Tensor::zeros`]' pass over memory.
    ///
    /// # Examples
    /// ```
    /// use gradus_tensor::Tensor;
    /// let mut t = Tensor::<f32>::empty(&[2, 3]);
    /// t.data_mut().iter_mut().enumerate().for_each(|(i, x)| *x = i as f32);
    /// assert_eq!(t.to_vec(), vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
    /// ```
    pub fn empty(shape: &[usize]) -> Self {
        Tensor::from_parts(alloc(shape.iter().product()), shape)
    }

    /// Zeros with the shape of `other`.
    pub fn zeros_like(other: &Self) -> Self {
        Self::zeros(other.shape())
    }

    /// Ones with the shape of `other`.
    pub fn ones_like(other: &Self) -> Self {
        Self::ones(other.shape())
    }

    /// `start, start + step, …` up to but excluding `end`, as `torch.arange`.
    ///
    /// # Errors
    /// [`TensorError::InvalidArgument`] if `step` is zero or has the wrong sign,
    /// or a bound is not finite.
    ///
    /// # Examples
    /// ```
    /// use gradus_tensor::Tensor;
    /// assert_eq!(Tensor::arange(0.0f32, 1.0, 0.25).unwrap().to_vec(), vec![0.0, 0.25, 0.5, 0.75]);
    /// ```
    pub fn arange(start: T, end: T, step: T) -> Result<Self> {
        let bad = |reason: String| TensorError::InvalidArgument { op: "arange", reason };
        if !(start.is_finite() && end.is_finite() && step.is_finite()) {
            return Err(bad(format!("bounds and step must be finite, got start={start}, end={end}, step={step}")));
        }
        if step == T::zero() || (end - start) * step < T::zero() {
            return Err(bad(format!("step {step} cannot go from {start} to {end}")));
        }
        let n = ((end - start) / step).ceil().to_usize().unwrap_or(0);
        let data = (0..n).map(|i| start + T::of(i as f64) * step).collect::<Vec<_>>();
        Ok(Self::from_parts(data, &[n]))
    }

    /// `steps` values evenly spaced from `start` to `end` inclusive, as
    /// `torch.linspace`.
    pub fn linspace(start: T, end: T, steps: usize) -> Self {
        let data = match steps {
            0 => vec![],
            1 => vec![start],
            _ => {
                let step = (end - start) / T::of((steps - 1) as f64);
                // Compute from both ends, as PyTorch does, so the last value is `end` exactly.
                let half = steps / 2;
                (0..steps)
                    .map(|i| {
                        if i < half {
                            start + step * T::of(i as f64)
                        } else {
                            end - step * T::of((steps - 1 - i) as f64)
                        }
                    })
                    .collect()
            }
        };
        Self::from_parts(data, &[steps])
    }

    /// The additive causal mask of attention for `t` queries over `s`
    /// keys: 0 where query i may see key j (j ≤ i + (s − t), so the last
    /// query sees every key), −∞ elsewhere. With t = s it is PyTorch's
    /// square subsequent mask; with fewer queries than keys (new positions
    /// after a key/value cache) the queries are the last t positions.
    ///
    /// ```
    /// let m = gradus_tensor::Tensor::<f64>::causal_mask(2, 3).to_vec();
    /// assert_eq!(m, [0.0, 0.0, f64::NEG_INFINITY, 0.0, 0.0, 0.0]);
    /// ```
    pub fn causal_mask(t: usize, s: usize) -> Self {
        let offset = s.saturating_sub(t);
        let data: Vec<T> = (0..t)
            .flat_map(|i| (0..s).map(move |j| if j <= i + offset { T::zero() } else { T::of(f64::NEG_INFINITY) }))
            .collect();
        Self::from_parts(data, &[t, s])
    }

    /// The `n × n` identity matrix.
    pub fn eye(n: usize) -> Self {
        let mut data = alloc(n * n);
        data.fill(T::zero());
        for i in 0..n {
            data[i * n + i] = T::one();
        }
        Self::from_parts(data, &[n, n])
    }

    /// Samples from U[low, high) with the caller's generator.
    ///
    /// # Panics
    /// If `low >= high` or a bound is not finite.
    ///
    /// # Examples
    /// ```
    /// use gradus_tensor::Tensor;
    /// use rand::SeedableRng;
    /// let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    /// let w = Tensor::<f32>::uniform(&[3, 4], -0.5, 0.5, &mut rng);
    /// assert!(w.to_vec().iter().all(|x| (-0.5..0.5).contains(x)));
    /// ```
    #[track_caller]
    pub fn uniform<R: Rng + ?Sized>(shape: &[usize], low: T, high: T, rng: &mut R) -> Self {
        assert!(
            low < high && low.is_finite() && high.is_finite(),
            "uniform: need finite low < high, got low={low}, high={high}"
        );
        let dist = rand_distr::Uniform::new(low, high).expect("bounds checked above");
        let mut data = alloc(shape.iter().product());
        data.iter_mut().for_each(|x| *x = rng.sample(&dist));
        Self::from_parts(data, shape)
    }

    /// Samples from N(mean, std²) with the caller's generator.
    ///
    /// # Panics
    /// If `std` is negative or not finite.
    #[track_caller]
    pub fn normal<R: Rng + ?Sized>(shape: &[usize], mean: T, std: T, rng: &mut R) -> Self {
        assert!(std >= T::zero() && std.is_finite(), "normal: std must be finite and >= 0, got {std}");
        let mut data = alloc(shape.iter().product());
        data.iter_mut().for_each(|x| *x = mean + std * T::sample_standard_normal(rng));
        Self::from_parts(data, shape)
    }

    /// The same values as another float type (`f32` ↔ `f64`), rounding to
    /// nearest when narrowing.
    pub fn cast<U: Float>(&self) -> Tensor<U> {
        self.map_with(crate::kernel::Cost::Cheap, |x| U::of(x.as_f64()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linspace_hits_both_ends() {
        let t = Tensor::linspace(-1.0f32, 1.0, 7).to_vec();
        assert_eq!(t.first(), Some(&-1.0));
        assert_eq!(t.last(), Some(&1.0));
        assert_eq!(t[3], 0.0);
    }

    #[test]
    fn arange_rejects_a_wrong_step() {
        assert!(Tensor::arange(0.0f64, 1.0, -0.5).is_err());
        assert!(Tensor::arange(0.0f64, 1.0, 0.0).is_err());
        assert_eq!(Tensor::arange(3.0f64, 0.0, -1.0).unwrap().to_vec(), vec![3.0, 2.0, 1.0]);
    }

    #[test]
    fn normal_sampling_is_seeded_and_has_the_right_moments() {
        use rand::SeedableRng;
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let a = Tensor::<f64>::normal(&[20_000], 2.0, 0.5, &mut rng);
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let b = Tensor::<f64>::normal(&[20_000], 2.0, 0.5, &mut rng);
        assert_eq!(a.to_vec(), b.to_vec());
        let v = a.to_vec();
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64;
        assert!((mean - 2.0).abs() < 0.02, "mean {mean}");
        assert!((var.sqrt() - 0.5).abs() < 0.02, "std {}", var.sqrt());
    }

    #[test]
    fn cast_round_trips_representable_values() {
        let a = Tensor::from_vec(vec![0.5f32, -2.25, 1e-3], &[3]).unwrap();
        assert_eq!(a.cast::<f64>().cast::<f32>().to_vec(), a.to_vec());
    }
}
