//! `gradus sample`: a trained text model continues a prompt, byte by byte.
//!
//! Each step feeds the model the bytes so far (the last `context` of
//! them), turns the last position's logits into probabilities at the
//! temperature, keeps the `top-k` most likely bytes and draws one from the
//! seed. A model that can run on new positions alone (its attention keeps
//! keys and values: [`Module::incremental`]) is fed one byte a step once
//! the prompt is in; when the window is full every step runs the window
//! again, as without the cache, so both give the same bytes.

use crate::{Failure, usage};
use gradus::nn::{Module, checkpoint};
use gradus::prelude::*;
use gradus::rand::SeedableRng;
use gradus::rand::rngs::StdRng;
use std::io::Write;
use std::path::PathBuf;

/// `gradus sample`'s options.
#[derive(clap::Args)]
pub struct SampleArgs {
    /// A checkpoint of a text model (`gradus train --data text`).
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// The model spec; optional when the checkpoint records it.
    #[arg(long)]
    pub model: Option<String>,
    /// The text to continue (at least one byte).
    #[arg(long)]
    pub prompt: String,
    /// Bytes to generate.
    #[arg(long, default_value_t = 200)]
    pub tokens: usize,
    /// Logits are divided by it: below 1 sharper, above 1 flatter; 0
    /// takes the most likely byte every time.
    #[arg(long, default_value_t = 1.0, value_parser = crate::finite)]
    pub temperature: f64,
    /// Draw from the K most likely bytes only.
    #[arg(long)]
    pub top_k: Option<usize>,
    /// Seed of the draws.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Bytes the model sees at most [default: the training context the
    /// checkpoint records].
    #[arg(long)]
    pub context: Option<usize>,
    /// Run the whole window every step instead of keeping keys and values
    /// (slower; the same bytes).
    #[arg(long)]
    pub no_cache: bool,
}

/// `gradus sample`.
pub fn sample(args: &SampleArgs) -> Result<(), Failure> {
    if args.prompt.is_empty() {
        return Err(usage("--prompt must give at least one byte to continue"));
    }
    if args.temperature < 0.0 {
        return Err(usage(format!("--temperature {}: give 0 (the likeliest byte) or more", args.temperature)));
    }
    if args.top_k == Some(0) {
        return Err(usage("--top-k must be positive"));
    }
    let (spec, ck) = crate::lab::read(&args.checkpoint, args.model.as_deref(), crate::lab::Role::Checkpoint)?;
    let recorded = ck.metadata("config.context").and_then(|c| c.parse::<usize>().ok());
    let context = match (args.context, recorded) {
        (Some(0), _) => return Err(usage("--context must be positive")),
        (Some(c), _) | (None, Some(c)) => c,
        (None, None) => {
            return Err(usage(format!(
                "{} records no training context (not a `--data text` run); give --context",
                args.checkpoint.display()
            )));
        }
    };
    let model = spec.build::<f32>(0);
    let prefix = if ck.names().any(|n| n.starts_with("model.")) { "model." } else { "" };
    checkpoint::restore(&model, &ck, prefix).map_err(|e| usage(format!("{}: {e}", args.checkpoint.display())))?;
    spec.check_sequence(&model, &[context], gradus::data::BYTES).map_err(usage)?;
    model.eval();
    let mut sampler = Sampler {
        model: &model,
        context,
        cached: !args.no_cache && model.incremental(),
        seen: 0,
        temperature: args.temperature,
        top_k: args.top_k.unwrap_or(gradus::data::BYTES),
        rng: StdRng::seed_from_u64(args.seed),
    };
    let mut text = args.prompt.as_bytes().to_vec();
    let generated = sampler.continue_text(&mut text, args.tokens);
    let mut out = std::io::stdout().lock();
    let written = writeln!(out, "{}", String::from_utf8_lossy(&text)).and_then(|()| out.flush());
    generated?;
    written.map_err(|e| Failure::Run(format!("cannot write the text: {e}")))
}

/// Generation state.
struct Sampler<'a> {
    model: &'a Sequential<f32>,
    context: usize,
    /// Feeding new positions only (the model keeps the earlier ones).
    cached: bool,
    /// Positions the model holds, when cached.
    seen: usize,
    temperature: f64,
    top_k: usize,
    rng: StdRng,
}

impl Sampler<'_> {
    /// Appends `n` bytes to `text`.
    fn continue_text(&mut self, text: &mut Vec<u8>, n: usize) -> Result<(), Failure> {
        self.model.set_cache(self.cached);
        for _ in 0..n {
            let logits = self.next_logits(text)?;
            text.push(self.draw(&logits));
        }
        self.model.set_cache(false);
        Ok(())
    }

    /// The logits of the byte after `text`.
    fn next_logits(&mut self, text: &[u8]) -> Result<Vec<f32>, Failure> {
        let window = &text[text.len().saturating_sub(self.context)..];
        let feed = if !self.cached {
            window
        } else if self.seen == 0 || self.seen >= self.context {
            // First step, or the window is full: start again from it.
            self.model.set_cache(true);
            self.seen = window.len();
            window
        } else {
            self.seen += 1;
            &text[text.len() - 1..] // the byte drawn last
        };
        let tokens = Tensor::from_vec(feed.iter().map(|&b| f32::from(b)).collect(), &[1, feed.len()])
            .expect("one value per byte");
        let logits = gradus::autodiff::no_grad(|| self.model.forward(&Tape::new(), &Var::constant(tokens)));
        let v = *logits.shape().last().expect("checked: [1, T, V]");
        let all = logits.value().to_vec();
        let last = all[all.len() - v..].to_vec();
        if last.iter().any(|x| !x.is_finite()) {
            return Err(Failure::Run("the model's logits are not finite; nothing to sample from".into()));
        }
        Ok(last)
    }

    /// A byte from `logits` at the temperature among the top k.
    fn draw(&mut self, logits: &[f32]) -> u8 {
        let mut order: Vec<usize> = (0..logits.len().min(gradus::data::BYTES)).collect();
        order.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]).then(a.cmp(&b)));
        order.truncate(self.top_k.max(1));
        if self.temperature == 0.0 {
            return order[0] as u8;
        }
        let top = f64::from(logits[order[0]]);
        let weights: Vec<f64> =
            order.iter().map(|&i| ((f64::from(logits[i]) - top) / self.temperature).exp()).collect();
        let dist = gradus::rand::distr::weighted::WeightedIndex::new(&weights).expect("the likeliest weighs 1");
        order[gradus::rand::Rng::sample(&mut self.rng, dist)] as u8
    }
}
