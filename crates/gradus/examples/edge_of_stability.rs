//! The edge of stability (Cohen et al. 2021): full-batch gradient descent
//! on a 5,000-example subset of Fashion-MNIST. Sharpness — the largest
//! eigenvalue of the training loss's Hessian — cannot stay above 2/η, the
//! largest value at which gradient descent is stable on a quadratic:
//! started above it, the run throws it down to 2/η within a few steps
//! instead of diverging, and it then hovers at or just under that line.
//! Two rates (0.25 and 0.2 by default; 1,000 steps), one figure.
//!
//! `cargo run --release -p gradus --example edge_of_stability -- [steps] [out.svg] [rates…]`
//!
//! The network is a tanh MLP 784-64-64-10 under the mean squared error on
//! one-hot targets (the setting of the paper's Figure 1, narrower);
//! sharpness is measured every 10 steps by Lanczos on Hessian-vector
//! products, warm-started from the previous top eigenvector, and so is the
//! top eigenvalue of the Gauss–Newton matrix (rings in the figure).

use gradus::data::{Dataset, Features, InMemory, Targets};
use gradus::prelude::*;
use std::sync::Arc;

fn main() -> Result<(), GradusError> {
    gradus::tensor::init_threads(0).expect("nothing has used rayon before main");
    let mut args = std::env::args().skip(1);
    let steps: usize = args.next().map_or(1000, |a| a.parse().expect("[steps] is a number"));
    let out = args.next().unwrap_or_else(|| "edge_of_stability.svg".into());
    let mut rates: Vec<f64> = args.map(|a| a.parse().expect("rates are numbers")).collect();
    if rates.is_empty() {
        rates = vec![0.25, 0.2];
    }

    // 5,000 training images in [0, 1], flattened, with one-hot targets.
    let (train, _) = match mnist::load(mnist::Mnist::Fashion, None) {
        Ok(sets) => sets,
        Err(e) => {
            eprintln!("{e}\nthis example needs Fashion-MNIST (Debian/Ubuntu: apt-get install dataset-fashion-mnist)");
            std::process::exit(2);
        }
    };
    let n = 5000.min(train.len());
    let (mut x, mut y) = (Vec::with_capacity(n * 784), vec![0.0; n * 10]);
    for i in 0..n {
        let s = train.get(i)?;
        x.extend(s.features.iter().map(|v| v / 255.0));
        let gradus::data::Target::Class(c) = s.target else { unreachable!("Fashion-MNIST has classes") };
        y[i * 10 + c] = 1.0;
    }
    let data: Arc<dyn Dataset> = Arc::new(InMemory::new(
        Features::F32(x.iter().map(|v| *v as f32).collect()),
        vec![784],
        Targets::Values { data: y, width: 10 },
    )?);
    // One batch of all 5,000: every step is a full gradient step.
    let full = DataLoader::new(Arc::clone(&data), n);
    let loss = gradus::loss::Regression::Mse(Reduction::Mean);

    let mut runs = Vec::new();
    for lr in rates {
        let model = Mlp::new(&[784, 64, 64, 10])
            .activation(Activation::Tanh)
            .build::<f32, _>(&mut rand::rngs::StdRng::seed_from_u64(0));
        let optimizer = gradus::optim::parse(&format!("sgd(lr={lr})"))?;
        let mut trainer = Trainer::new(Optimizer::boxed(optimizer)).with_sharpness(10).with_ggn_sharpness();
        let start = std::time::Instant::now();
        for step in 1..=steps {
            let m = trainer.epoch(&model, &loss, &Loaders { train: &full, monitor: &full, test: &full })?;
            if step % 10 == 0 {
                let last = trainer.sharpness().last();
                println!(
                    "lr {lr}: step {step}: loss {:.5}, sharpness {:.3}, Gauss–Newton {:.3} (2/η = {:.3}), {:.0} s",
                    m.train_loss,
                    last.map_or(f64::NAN, |p| p.sharpness),
                    last.and_then(|p| p.ggn).unwrap_or(f64::NAN),
                    2.0 / lr,
                    start.elapsed().as_secs_f64()
                );
            }
        }
        let points = trainer.sharpness().to_vec();
        let tail = &points[points.len() * 2 / 3..];
        let mean = tail.iter().map(|p| p.sharpness).sum::<f64>() / tail.len() as f64;
        let ggn = tail.iter().filter_map(|p| p.ggn).sum::<f64>() / tail.len() as f64;
        println!(
            "lr {lr}: over the last third of the run sharpness averages {mean:.3}, {:.1}% of 2/η; the Gauss–Newton matrix's {ggn:.3}, {:.1}%",
            100.0 * mean * lr / 2.0,
            100.0 * ggn * lr / 2.0
        );
        runs.push((format!("η = {lr} (2/η = {:.2})", 2.0 / lr), points));
    }
    let title = "full-batch gradient descent, tanh MLP, MSE, 5,000 Fashion-MNIST examples";
    gradus::plot::sharpness(std::path::Path::new(&out), title, &runs)?;
    println!("wrote {out}");
    Ok(())
}
