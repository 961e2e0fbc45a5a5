//! Text from a byte-level model: [`generate`] continues a prompt byte by
//! byte, each drawn from the last position's logits at a temperature among
//! the top k, from a seed.
//!
//! A model that can run on new positions alone ([`Module::incremental`]:
//! its attention layers keep keys and values) is fed one byte a step once
//! the prompt is in; when the window of `context` bytes is full it starts
//! again from the window, as a model without the cache is fed every step,
//! so both give the same bytes.

use crate::GradusError;
use gradus_autodiff::{Tape, Var, no_grad};
use gradus_nn::Module;
use gradus_tensor::{Float, Tensor};
use rand::SeedableRng;
use rand::rngs::StdRng;

/// How [`generate`] draws.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sampling {
    /// Bytes the model sees at most (its training context).
    pub context: usize,
    /// Logits are divided by it; 0 takes the likeliest byte.
    pub temperature: f64,
    /// Draws from the k likeliest bytes only.
    pub top_k: usize,
    /// Seed of the draws.
    pub seed: u64,
    /// Keeps the attention layers' keys and values when the model can.
    pub cache: bool,
}

impl Sampling {
    /// Temperature 1, every byte, seed 0, the cache on.
    pub fn new(context: usize) -> Self {
        Self { context, temperature: 1.0, top_k: 256, seed: 0, cache: true }
    }
}

/// Appends `n` bytes drawn from `model` (in evaluation mode while it runs)
/// to `text`.
///
/// ```
/// use gradus::models::ModelSpec;
/// use gradus::sample::{Sampling, generate};
/// let spec = ModelSpec::parse("seq(embedding(256, 8), pos_embedding(8, 8), transformer(8, 2, 16, causal=true), linear(8, 256))").unwrap();
/// let model = spec.build::<f32>(0);
/// let (mut cached, mut plain) = (b"ab".to_vec(), b"ab".to_vec());
/// generate(&model, &mut cached, 20, &Sampling::new(8)).unwrap();
/// generate(&model, &mut plain, 20, &Sampling { cache: false, ..Sampling::new(8) }).unwrap();
/// assert_eq!(cached.len(), 22);
/// assert_eq!(cached, plain);
/// ```
///
/// # Errors
/// [`GradusError::Config`] for an empty `text`, a context of 0, or a
/// temperature below 0; [`GradusError::Diverged`] when the logits are not
/// finite.
pub fn generate<T: Float>(
    model: &dyn Module<T>,
    text: &mut Vec<u8>,
    n: usize,
    how: &Sampling,
) -> Result<(), GradusError> {
    if text.is_empty() || how.context == 0 || how.temperature.is_nan() || how.temperature < 0.0 {
        return Err(GradusError::Config(format!(
            "generation needs a prompt of at least one byte, a positive context and a temperature of 0 or more; got {} bytes, context {}, temperature {}",
            text.len(),
            how.context,
            how.temperature
        )));
    }
    let was = model.training();
    model.eval();
    let cached = how.cache && model.incremental();
    let mut sampler = Sampler { cached, seen: 0, rng: StdRng::seed_from_u64(how.seed), how };
    let done = (0..n).try_for_each(|_| {
        let logits = sampler.next_logits(model, text)?;
        text.push(sampler.draw(&logits));
        Ok(())
    });
    model.set_cache(false);
    if let Some(training) = was {
        model.set_training(training);
    }
    done
}

/// Generation state.
struct Sampler<'a> {
    /// Feeding new positions only (the model keeps the earlier ones).
    cached: bool,
    /// Positions the model holds, when cached.
    seen: usize,
    rng: StdRng,
    how: &'a Sampling,
}

impl Sampler<'_> {
    /// The logits of the byte after `text`.
    fn next_logits<T: Float>(&mut self, model: &dyn Module<T>, text: &[u8]) -> Result<Vec<f64>, GradusError> {
        let window = &text[text.len().saturating_sub(self.how.context)..];
        let feed = if !self.cached {
            window
        } else if self.seen == 0 || self.seen >= self.how.context {
            // The first step, or the window is full: start again from it.
            model.set_cache(true);
            self.seen = window.len();
            window
        } else {
            self.seen += 1;
            &text[text.len() - 1..] // the byte drawn last
        };
        let tokens = Tensor::from_vec(feed.iter().map(|&b| T::of(f64::from(b))).collect(), &[1, feed.len()])
            .expect("one value per byte");
        let logits = no_grad(|| model.forward(&Tape::new(), &Var::constant(tokens)));
        let v = *logits.shape().last().expect("logits [1, T, V]");
        let all = logits.value().to_vec();
        let last: Vec<f64> = all[all.len() - v..].iter().map(|x| x.as_f64()).collect();
        if last.iter().any(|x| !x.is_finite()) {
            return Err(GradusError::Diverged {
                epoch: None,
                step: None,
                what: "the model's logits are not finite; nothing to sample from".into(),
                first_op: None,
            });
        }
        Ok(last)
    }

    /// A byte from `logits` at the temperature among the top k.
    fn draw(&mut self, logits: &[f64]) -> u8 {
        let mut order: Vec<usize> = (0..logits.len().min(256)).collect();
        order.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]).then(a.cmp(&b)));
        order.truncate(self.how.top_k.max(1));
        if self.how.temperature == 0.0 {
            return order[0] as u8;
        }
        let top = logits[order[0]];
        let weights: Vec<f64> = order.iter().map(|&i| ((logits[i] - top) / self.how.temperature).exp()).collect();
        let dist = rand::distr::weighted::WeightedIndex::new(&weights).expect("the likeliest weighs 1");
        order[rand::Rng::sample(&mut self.rng, dist)] as u8
    }
}
