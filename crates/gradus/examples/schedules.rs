//! Every learning-rate schedule of gradus-sched drawn as SVG (rate, and
//! momentum where it cycles) into one folder.
//!
//! `cargo run --release -p gradus --example schedules -- [out-dir]`

use gradus::sched::{Schedule, parse};
use std::path::PathBuf;

const SPECS: [&str; 13] = [
    "constant(factor=0.5, total_iters=20)",
    "step(step_size=30, gamma=0.5)",
    "multistep(milestones=[40, 70, 90], gamma=0.3)",
    "exponential(gamma=0.97)",
    "inverse_time(k=0.1)",
    "polynomial(total_iters=80, power=2)",
    "linear(start_factor=0.1, total_iters=20)",
    "cosine(t_max=50, eta_min=0.001)",
    "warm_restarts(t_0=10, t_mult=2, eta_min=0.001)",
    "cyclic(base_lr=0.01, max_lr=0.1, step_size_up=10, mode=triangular2)",
    "cyclic(base_lr=0.01, max_lr=0.1, step_size_up=10, mode=exp_range, gamma=0.98)",
    "onecycle(max_lr=0.1, total_steps=100, three_phase=true)",
    "sequential([linear(start_factor=0.1, total_iters=10), cosine(t_max=90)], milestones=[10])",
];

fn main() -> Result<(), gradus::GradusError> {
    let out = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "target/schedules".into()));
    std::fs::create_dir_all(&out)
        .map_err(|source| gradus::GradusError::Io { path: out.display().to_string(), source })?;
    for (i, spec) in SPECS.iter().enumerate() {
        let Schedule::Steps(s) = parse(spec)? else { continue };
        let lrs: Vec<f64> = (0..100).map(|t| s.lr(0.1, t)).collect();
        let momenta: Option<Vec<f64>> = (0..100).map(|t| s.momentum(t)).collect();
        let file = out.join(format!("{i:02}_{}.svg", spec.split('(').next().unwrap_or("schedule")));
        gradus::plot::schedule(&file, spec, &lrs, momenta.as_deref())?;
        println!("{}", file.display());
    }
    Ok(())
}
