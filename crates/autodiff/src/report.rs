//! The command-line front of the gradient-check catalogue: what `cargo
//! xtask gradcheck` runs, over the cases of every crate.

use crate::catalogue::{Case, Outcome};
use std::process::ExitCode;

struct Args {
    filter: Option<String>,
    seed: u64,
    json: bool,
}

fn parse() -> Result<Args, String> {
    let mut args = Args { filter: None, seed: 1, json: false };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--filter" => args.filter = Some(it.next().ok_or("--filter needs a value")?),
            "--seed" => {
                let v = it.next().ok_or("--seed needs a value")?;
                args.seed = v.parse().map_err(|_| format!("--seed: `{v}` is not a non-negative integer"))?;
            }
            "--json" => args.json = true,
            other => return Err(format!("unknown argument `{other}` (accepted: --filter S, --seed N, --json)")),
        }
    }
    Ok(args)
}

fn json_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn json_row(o: &Outcome) -> String {
    let order = |r: &crate::gradcheck::Report| {
        format!(
            "{{\"passed\": {}, \"max_abs_err\": {:e}, \"max_rel_err\": {:e}}}",
            r.passed, r.max_abs_err, r.max_rel_err
        )
    };
    format!(
        "{{\"case\": {}, \"shapes\": {:?}, \"first_order\": {}, \"second_order\": {}, \"passed\": {}}}",
        json_string(o.name),
        o.shapes,
        order(&o.first),
        o.second.as_ref().map_or("null".to_string(), order),
        o.passed()
    )
}

/// Runs `cases` as `cargo xtask gradcheck` does: parses `--filter S`,
/// `--seed N` and `--json` from the command line, prints the table (or JSON)
/// ending in `N passed, M failed`, and exits non-zero on any failure (2 on
/// bad arguments).
pub fn main(cases: Vec<Case>) -> ExitCode {
    let args = match parse() {
        Ok(a) => a,
        Err(msg) => {
            eprintln!("gradcheck: {msg}");
            return ExitCode::from(2);
        }
    };
    let selected: Vec<_> =
        cases.into_iter().filter(|c| args.filter.as_deref().is_none_or(|f| c.name.contains(f))).collect();
    if selected.is_empty() {
        eprintln!("gradcheck: no case matches the filter");
        return ExitCode::from(2);
    }
    let mut outcomes = Vec::new();
    for case in &selected {
        match case.run(args.seed) {
            Ok(o) => outcomes.push(o),
            Err(e) => {
                eprintln!("gradcheck: {}: {e}", case.name);
                return ExitCode::FAILURE;
            }
        }
    }
    let failed = outcomes.iter().filter(|o| !o.passed()).count();
    if args.json {
        let rows: Vec<String> = outcomes.iter().map(json_row).collect();
        println!("[\n  {}\n]", rows.join(",\n  "));
    } else {
        println!("| case | shapes | order | max abs err | max rel err | result |");
        println!("|---|---|---|---|---|---|");
        for o in &outcomes {
            for (order, r) in [(1, Some(&o.first)), (2, o.second.as_ref())] {
                let Some(r) = r else { continue };
                let shapes: Vec<String> = o.shapes.iter().map(|s| format!("{s:?}")).collect();
                let result = if r.passed { "pass".to_string() } else { format!("FAIL: {r}") };
                println!(
                    "| {} | {} | {order} | {:.2e} | {:.2e} | {result} |",
                    o.name,
                    shapes.join(" "),
                    r.max_abs_err,
                    r.max_rel_err
                );
            }
        }
        println!("\n{} passed, {failed} failed", outcomes.len() - failed);
    }
    if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
