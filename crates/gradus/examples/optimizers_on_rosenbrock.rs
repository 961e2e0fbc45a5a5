//! The optimisers racing down Rosenbrock's valley from
//! (−1.5, 2): their distance to the minimum (1, 1) after 1 000 steps, and
//! their paths over the contour map.
//!
//! `cargo run --release -p gradus --example optimizers_on_rosenbrock -- [out.svg]`

use gradus::optim::{Lbfgs, LbfgsConfig, Optimizer, parse};

fn grad(p: &[f64]) -> Vec<f64> {
    vec![-2.0 * (1.0 - p[0]) - 400.0 * p[0] * (p[1] - p[0] * p[0]), 200.0 * (p[1] - p[0] * p[0])]
}

fn f(x: f64, y: f64) -> f64 {
    (1.0 - x).powi(2) + 100.0 * (y - x * x).powi(2)
}

fn main() -> Result<(), gradus::GradusError> {
    let specs = [
        "sgd(lr=0.0005)",
        "sgd(lr=0.0005, momentum=0.9)",
        "sgd(lr=0.0005, momentum=0.9, nesterov=true)",
        "adagrad(lr=0.5)",
        "rmsprop(lr=0.01)",
        "adadelta(lr=1.0)",
        "adam(lr=0.05)",
        "nadam(lr=0.05)",
    ];
    let mut runs = Vec::new();
    for spec in specs {
        let mut opt = Optimizer::<f64>::boxed(parse(spec)?);
        let mut p = vec![-1.5, 2.0];
        let mut path = vec![(p[0], p[1])];
        for _ in 0..1000 {
            let g = grad(&p);
            opt.update(0, &mut p, &g)?;
            path.push((p[0], p[1]));
        }
        println!("{spec:<45} distance to (1, 1): {:.3e}", (p[0] - 1.0).hypot(p[1] - 1.0));
        runs.push((spec.to_string(), path));
    }
    let mut lbfgs = Lbfgs::new(LbfgsConfig { strong_wolfe: true, max_iter: 100, ..Default::default() })?;
    let mut p = vec![-1.5, 2.0];
    lbfgs.step(&mut p, |q| (f(q[0], q[1]), grad(q)));
    println!(
        "{:<45} distance to (1, 1): {:.3e} ({} evaluations)",
        "lbfgs(strong_wolfe)",
        (p[0] - 1.0).hypot(p[1] - 1.0),
        lbfgs.func_evals()
    );
    let out = std::env::args().nth(1).unwrap_or_else(|| "target/rosenbrock_paths.svg".into());
    gradus::plot::paths(
        out.as_ref(),
        "Rosenbrock, 1 000 steps from (-1.5, 2)",
        f,
        (-2.0, 2.0),
        (-1.0, 3.0),
        &[(1.0, 1.0)],
        &runs,
    )?;
    println!("paths drawn in {out}");
    Ok(())
}
