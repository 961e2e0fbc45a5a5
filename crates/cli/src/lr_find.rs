//! `gradus lr-find`: the learning-rate range test on a fresh model.

use crate::output::json_number;
use crate::{Failure, usage};
use gradus::data::DataLoader;
use gradus::loss::CrossEntropy;
use std::path::PathBuf;

/// `gradus lr-find`'s options.
#[derive(clap::Args)]
pub struct LrFindArgs {
    /// The model spec (a fresh model from --seed).
    #[arg(long, default_value = "mlp(784, 256, 128, 10, act=relu)")]
    pub model: String,
    /// The optimiser spec (its lr is replaced by the sweep's).
    #[arg(long)]
    pub optimizer: String,
    #[command(flatten)]
    pub source: crate::source::Source,
    /// Mini-batch size.
    #[arg(long, default_value_t = 128)]
    pub batch_size: usize,
    /// The first rate.
    #[arg(long, default_value_t = 1e-7, value_parser = crate::finite)]
    pub start_lr: f64,
    /// The rate after --num-iter steps.
    #[arg(long, default_value_t = 10.0, value_parser = crate::finite)]
    pub end_lr: f64,
    /// At most this many steps.
    #[arg(long, default_value_t = 100)]
    pub num_iter: usize,
    /// Seed of the weights and the data order.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output format.
    #[arg(long, value_enum, default_value = "csv")]
    pub format: crate::Format,
    /// Also draw the curve with the suggestions as SVG.
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// Replace a --plot file that exists.
    #[arg(long)]
    pub overwrite: bool,
}

/// `gradus lr-find`.
pub fn lr_find(args: &LrFindArgs) -> Result<(), Failure> {
    crate::outputs::fresh("--plot", args.plot.as_deref(), &[], args.overwrite)?;
    if args.batch_size == 0 || args.num_iter == 0 {
        return Err(usage("--batch-size and --num-iter must be positive"));
    }
    if !(args.start_lr > 0.0 && args.end_lr > args.start_lr) {
        return Err(usage(format!("--start-lr {} and --end-lr {}: give 0 < start < end", args.start_lr, args.end_lr)));
    }
    // Every step's row is kept for the suggestions and the plot.
    crate::memory::fits(args.num_iter as f64 * 32.0, || format!("--num-iter {}", args.num_iter), "lower the count")?;
    let spec = crate::train::parse_model(&crate::train::model_text(&args.model)?)?;
    let model = spec.build::<f32>(args.seed);
    let optim = crate::train::optimizer_for(&args.optimizer, &model, &[])?;
    let (train, _, _) = crate::source::datasets(&args.source, &spec, args.seed, args.batch_size)?;
    let drop_last = crate::train::check_batches(&spec, train.as_ref(), args.batch_size, args.seed, 1)?;
    let loader = DataLoader::new(train, args.batch_size).shuffle(args.seed).drop_last(drop_last).workers(1);
    let mut trainer = gradus::Trainer::new(optim);
    let options = gradus::lr_find::LrFindOptions {
        start_lr: args.start_lr,
        end_lr: args.end_lr,
        num_iter: args.num_iter,
        ..Default::default()
    };
    let found = {
        let bar = crate::progress::Progress::new(args.num_iter, "lr-find", "steps");
        trainer.lr_find_with(&model, &CrossEntropy::default(), &loader, &options, &mut |row| {
            bar.set(row.step + 1);
            bar.message(format!("lr {:.2e}, loss {:.4}", row.lr, row.smoothed));
        })?
    };
    let suggestion = |s: Option<f64>| s.map_or("null".into(), json_number);
    let text = match args.format {
        crate::Format::Csv => {
            let mut t = String::from("step,lr,loss,smoothed_loss\n");
            for r in &found.rows {
                t += &format!("{},{},{},{}\n", r.step, r.lr, r.loss, r.smoothed);
            }
            t
        }
        crate::Format::Json => {
            let rows: Vec<String> = found
                .rows
                .iter()
                .map(|r| {
                    format!(
                        "{{\"step\": {}, \"lr\": {}, \"loss\": {}, \"smoothed_loss\": {}}}",
                        r.step,
                        json_number(r.lr),
                        json_number(r.loss),
                        json_number(r.smoothed)
                    )
                })
                .collect();
            format!(
                "{{\"rows\": [\n  {}\n], \"suggestions\": {{\"valley\": {}, \"steep\": {}}}}}\n",
                rows.join(",\n  "),
                suggestion(found.valley),
                suggestion(found.steep)
            )
        }
    };
    crate::say(&text)?;
    let named = |s: Option<f64>| s.map_or("none (the curve is too short)".into(), |v| format!("{v:.3e}"));
    let stopped = if let Some(r) = found.rows.iter().find(|r| !r.loss.is_finite()) {
        format!("stopped at step {}: the loss was not finite at lr {:e}", r.step, r.lr)
    } else if found.rows.len() < args.num_iter {
        format!("stopped after {} steps: the smoothed loss passed 4x its best", found.rows.len())
    } else {
        format!("{} steps", found.rows.len())
    };
    crate::note(&format!(
        "lr-find: {stopped}; suggestions: valley {}, steep {}",
        named(found.valley),
        named(found.steep)
    ));
    if let Some(p) = &args.plot {
        let rows: Vec<(f64, f64, f64)> = found.rows.iter().map(|r| (r.lr, r.loss, r.smoothed)).collect();
        let marks: Vec<(String, f64)> = [("valley", found.valley), ("steep", found.steep)]
            .into_iter()
            .filter_map(|(n, v)| Some((n.to_string(), v?)))
            .collect();
        gradus::plot::lr_find(p, &rows, &marks)?;
    }
    Ok(())
}
