//! `gradus sample`: a trained text model continues a prompt, byte by byte
//! (`gradus::sample::generate`, with the key/value cache unless
//! `--no-cache`).

use crate::{Failure, usage};
use gradus::nn::checkpoint;
use gradus::sample::{Sampling, generate};
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
    let how = Sampling {
        context,
        temperature: args.temperature,
        top_k: args.top_k.unwrap_or(gradus::data::BYTES),
        seed: args.seed,
        cache: !args.no_cache,
    };
    let mut text = args.prompt.as_bytes().to_vec();
    let generated = generate(&model, &mut text, args.tokens, &how);
    let mut out = std::io::stdout().lock();
    let written = writeln!(out, "{}", String::from_utf8_lossy(&text)).and_then(|()| out.flush());
    generated?;
    written.map_err(|e| Failure::Run(format!("cannot write the text: {e}")))
}
