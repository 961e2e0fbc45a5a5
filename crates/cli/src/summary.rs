//! `gradus summary`: a model's items, shapes, parameters and
//! multiply-adds before anything is trained.

use crate::output::json_number;
use crate::{Failure, TextFormat, usage};
use gradus::models::Summary;
use std::io::Write;

/// `gradus summary`'s options.
#[derive(clap::Args)]
pub struct SummaryArgs {
    /// The model spec, or @FILE.
    #[arg(long)]
    pub model: String,
    /// One example's shape, comma-separated (default: a Fashion-MNIST
    /// image as the model takes it, `1,28,28` or `784`).
    #[arg(long)]
    pub input: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: TextFormat,
}

fn shape(text: &str) -> Result<Vec<usize>, Failure> {
    let dims: Option<Vec<usize>> =
        text.split(',').map(|d| d.trim().parse::<usize>().ok().filter(|&n| n > 0 && n < 1 << 24)).collect();
    match dims {
        Some(d) if !d.is_empty() && d.len() <= 6 && d.iter().map(|&n| n as f64).product::<f64>() <= 1e8 => Ok(d),
        _ => Err(usage(format!(
            "--input {text}: give one example's shape as positive integers separated by commas (1,28,28), at most 1e8 values"
        ))),
    }
}

fn json_list(v: &[usize]) -> String {
    format!("[{}]", v.iter().map(usize::to_string).collect::<Vec<_>>().join(", "))
}

/// The summary as JSON (keys as `Summary`'s fields; `type` for the kind).
fn json(s: &Summary) -> String {
    let rows: Vec<String> = s
        .rows
        .iter()
        .map(|r| {
            format!(
                "{{\"name\": \"{}\", \"type\": \"{}\", \"depth\": {}, \"output\": {}, \"params\": {}, \"multiply_adds\": {}}}",
                r.name,
                r.kind,
                r.depth,
                json_list(&r.output),
                r.params,
                json_number(r.multiply_adds)
            )
        })
        .collect();
    format!(
        "{{\"input\": {}, \"output\": {}, \"rows\": [\n  {}\n], \"total_params\": {}, \"trainable_params\": {}, \"multiply_adds\": {}}}\n",
        json_list(&s.input),
        json_list(&s.output),
        rows.join(",\n  "),
        s.total_params,
        s.trainable_params,
        json_number(s.multiply_adds)
    )
}

/// Prints the summary of `--model` for one example of `--input`.
pub fn summary(args: &SummaryArgs) -> Result<(), Failure> {
    let spec = crate::train::parse_model(&crate::train::model_text(&args.model)?)?;
    let input = match &args.input {
        Some(text) => shape(text)?,
        None => spec.input_shape(&[28, 28]),
    };
    if spec.stored_values() > 2e9 {
        return Err(usage(format!(
            "--model: {:.3e} stored values is more than a summary builds (2e9)",
            spec.stored_values()
        )));
    }
    let model = spec.build::<f32>(0);
    let s = Summary::of(&model, &input).map_err(|e| usage(format!("{}: {e}", spec.text())))?;
    let text = match args.format {
        TextFormat::Text => s.to_text(),
        TextFormat::Json => json(&s),
    };
    let mut out = crate::stdout();
    out.write_all(text.as_bytes()).and_then(|()| out.flush()).map_err(|e| Failure::Run(format!("stdout: {e}")))
}
