//! The demo's second part: a small byte-level transformer trained on the
//! licence texts every Debian machine has (/usr/share/common-licenses),
//! once per optimiser from the same initial weights; the bits-per-byte
//! curves side by side and a sample from the best model.

use gradus::data::{Dataset, Subset, TextWindows};
use gradus::models::ModelSpec;
use gradus::prelude::*;
use std::path::Path;
use std::sync::Arc;

/// Where the text comes from.
const LICENCES: &str = "/usr/share/common-licenses";

/// The model: 2 pre-norm causal layers of width 64 over windows of 64 bytes.
const MODEL: &str = "seq(embedding(256, 64), pos_embedding(64, 64), repeat(2, transformer(64, 4, 256, dropout=0.1, norm_first=true, causal=true)), layernorm(64), linear(64, 256))";
const CONTEXT: usize = 64;
const BATCH: usize = 32;

/// The licence files (symbolic links, which repeat a text, left out).
fn licence_files() -> Vec<std::path::PathBuf> {
    let Ok(dir) = std::fs::read_dir(LICENCES) else { return Vec::new() };
    let mut files: Vec<_> =
        dir.filter_map(Result::ok).filter(|e| e.file_type().is_ok_and(|t| t.is_file())).map(|e| e.path()).collect();
    files.sort();
    files
}

/// Trains the model with each optimiser for `epochs` epochs; writes
/// `text_ranking.md`, `text_curves.svg` and `text_sample.txt` into `out`.
/// Without the licence texts it says so and returns; 0 epochs is nothing.
pub fn run(out: &Path, epochs: usize) -> Result<(), GradusError> {
    if epochs == 0 {
        return Ok(());
    }
    let files = licence_files();
    if files.is_empty() {
        println!("\n(no text in {LICENCES}: the transformer part is left out)");
        return Ok(());
    }
    let (train, held_out) = gradus::data::read_text(&files)?;
    let train: Arc<dyn Dataset> = Arc::new(TextWindows::random(Arc::new(train), CONTEXT, 0)?);
    let test: Arc<dyn Dataset> = Arc::new(TextWindows::consecutive(Arc::new(held_out), CONTEXT)?);
    let monitor: Arc<dyn Dataset> = Arc::new(Subset::new(Arc::clone(&train), (0..512.min(train.len())).collect())?);
    let steps = train.len().div_ceil(BATCH) * epochs;
    let warmup = (steps / 10).max(1);
    let optimizers = [
        ("SGD+momentum", "sgd(lr=0.1, momentum=0.9)".to_string(), None),
        ("Adam", "adam(lr=2e-3)".to_string(), None),
        (
            "AdamW, warmup-cosine",
            "adamw(lr=2e-3)".to_string(),
            Some(format!(
                "sequential(schedulers=[linear(0.01, 1.0, {warmup}), cosine(t_max={})], milestones=[{warmup}])",
                steps - warmup
            )),
        ),
    ];
    println!(
        "\nByte-level text ({} files in {LICENCES}): {} training and {} test windows of {CONTEXT} bytes; {MODEL}, batch {BATCH}, {epochs} epochs",
        files.len(),
        train.len(),
        test.len()
    );
    let spec = ModelSpec::parse(MODEL).map_err(|e| GradusError::Config(e.to_string()))?;
    let train_loader = DataLoader::new(train, BATCH).shuffle(0).workers(1);
    let (monitor_loader, test_loader) = (DataLoader::new(monitor, 256), DataLoader::new(test, 256));
    let loss = CrossEntropy::default();
    let mut runs: Vec<(String, Vec<EpochMetrics>)> = Vec::new();
    let mut best: Option<(f64, Sequential<f32>)> = None;
    for (label, optimizer, schedule) in optimizers {
        let model = spec.build::<f32>(0);
        let mut trainer = Trainer::new(Optimizer::boxed(gradus::optim::parse::<f32>(&optimizer)?)).bits_per_byte();
        if let Some(s) = &schedule {
            trainer = trainer.with_schedule(gradus::sched::parse(s)?, Every::Batch)?;
        }
        let mut metrics = Vec::new();
        for _ in 0..epochs {
            let m = trainer.epoch(
                &model,
                &loss,
                &Loaders { train: &train_loader, monitor: &monitor_loader, test: &test_loader },
            )?;
            println!(
                "  {label:<21} epoch {}: train {:.3} bits/byte, test {:.3} bits/byte, next-byte accuracy {:.3} ({:.1} s)",
                m.epoch,
                m.train_bpb(),
                m.test_bpb(),
                m.test_accuracy,
                m.seconds
            );
            metrics.push(m);
        }
        let bpb = metrics.last().map_or(f64::INFINITY, EpochMetrics::test_bpb);
        if best.as_ref().is_none_or(|(b, _)| bpb < *b) {
            best = Some((bpb, model));
        }
        let written = schedule.map_or(optimizer.clone(), |s| format!("{optimizer}, {s}"));
        runs.push((format!("{label}: {written}"), metrics));
    }
    let mut table = format!(
        "# Optimisers on byte-level text ({epochs} epochs, same initial weights)\n\n| optimiser | test bits/byte | next-byte accuracy |\n|---|---|---|\n"
    );
    for (label, m) in &runs {
        let last = m.last().expect("at least one epoch");
        table.push_str(&format!("| {label} | {:.4} | {:.4} |\n", last.test_bpb(), last.test_accuracy));
    }
    println!("\n{table}");
    crate::write(&out.join("text_ranking.md"), &table)?;
    gradus::plot::learning_curves(&out.join("text_curves.svg"), &runs)?;
    if let Some((_, model)) = best {
        let text = sample(&model, b"This License ", 300)?;
        println!("A sample from the best (temperature 0.8):\n{text}\n");
        crate::write(&out.join("text_sample.txt"), &text)?;
    }
    Ok(())
}

/// `n` bytes after `prompt`, drawn at temperature 0.8 from seed 0, one
/// position a byte through the attention layers' key/value cache.
fn sample(model: &Sequential<f32>, prompt: &[u8], n: usize) -> Result<String, GradusError> {
    let mut text = prompt.to_vec();
    let how = gradus::sample::Sampling { temperature: 0.8, ..gradus::sample::Sampling::new(CONTEXT) };
    gradus::sample::generate(model, &mut text, n, &how)?;
    Ok(String::from_utf8_lossy(&text).into_owned())
}
