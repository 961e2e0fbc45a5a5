//! The Hessian of a network's loss as an operator, against the dense
//! Hessian (the Jacobian of the gradient) of the same function.

use gradus::autodiff::{LanczosOptions, Var, hessian};
use gradus::data::{Features, InMemory, Targets};
use gradus::hessian::LossHessian;
use gradus::models::ModelSpec;
use gradus::prelude::*;
use std::sync::Arc;

fn data(n: usize, features: usize, classes: usize, seed: u64) -> Arc<dyn Dataset> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let x = (0..n * features).map(|_| rand::Rng::random_range(&mut rng, -2.0..2.0)).collect();
    Arc::new(
        InMemory::new(Features::F64(x), vec![features], Targets::Classes((0..n).map(|i| i % classes).collect()))
            .unwrap(),
    )
}

/// A network with batch norm and dropout, one training step in so the
/// running statistics are not the initial ones.
fn network() -> (Sequential<f64>, Arc<dyn Dataset>) {
    let spec = ModelSpec::parse("seq(linear(4, 6), batchnorm1d(6), tanh, dropout(0.5), linear(6, 3))").unwrap();
    let model = spec.build::<f64>(7);
    let train = data(24, 4, 3, 1);
    let mut trainer = Trainer::new(Optimizer::boxed(gradus::optim::parse("sgd(lr=0.5)").unwrap()));
    let loader = DataLoader::new(Arc::clone(&train), 8);
    trainer
        .epoch(&model, &CrossEntropy::default(), &Loaders { train: &loader, monitor: &loader, test: &loader })
        .unwrap();
    (model, train)
}

/// The dense Hessian of the same function: the model in evaluation mode,
/// every trainable parameter a slice of one flat leaf, the mean loss over
/// both batches.
fn dense(model: &Sequential<f64>, train: &Arc<dyn Dataset>, batch: usize) -> (Vec<f64>, usize) {
    let params = model.named_parameters();
    let theta: Vec<f64> = params.iter().flat_map(|(_, p)| p.value().to_vec()).collect();
    let n = theta.len();
    model.eval();
    let loader = DataLoader::new(Arc::clone(train), batch);
    let batches: Vec<_> = loader.epoch::<f64>(0).map(|b| b.unwrap()).collect();
    let total = train.len() as f64;
    let f = |flat: &Var<f64>| {
        let tape = flat.tape().unwrap();
        let mut at = 0;
        for (_, p) in &params {
            let k = p.numel();
            let shape: Vec<isize> = p.shape().iter().map(|&d| d as isize).collect();
            p.bind(&tape, &flat.narrow(0, at, k).reshape(&shape)).unwrap();
            at += k;
        }
        let mut sum: Option<Var<f64>> = None;
        for b in &batches {
            let x = Var::constant(b.features.clone());
            let l = CrossEntropy::default().loss(&model.forward(&tape, &x), &b.targets).unwrap();
            let l = l.mul_scalar(b.features.shape()[0] as f64 / total);
            sum = Some(match sum {
                Some(s) => s.add(&l),
                None => l,
            });
        }
        sum.unwrap()
    };
    let h = hessian(f, &Tensor::from_vec(theta, &[n]).unwrap()).unwrap();
    model.train();
    (h.to_vec(), n)
}

#[test]
fn top_eigenvalues_trace_and_density_match_the_dense_hessian() {
    let (model, train) = network();
    let (h, n) = dense(&model, &train, 8);
    let (values, _) = Tensor::from_vec(h.clone(), &[n, n]).unwrap().eigh().unwrap();
    let values = values.to_vec();
    let dense_trace: f64 = (0..n).map(|i| h[i * n + i]).sum();

    let op = LossHessian::new(&model, &CrossEntropy::default(), &DataLoader::new(Arc::clone(&train), 8)).unwrap();
    assert_eq!(op.dimension(), n);
    // The model's mode is left as it was.
    assert_eq!(model.training(), Some(true));
    let options = LanczosOptions { top: 3, max_steps: n, tol: 1e-12 };
    let top = op.top_eigenvalues(&options, 3).unwrap();
    assert!(top.converged);
    for k in 0..3 {
        let want = values[n - 1 - k];
        assert!((top.values[k] - want).abs() <= 1e-8 * want.abs(), "λ{k}: {} vs dense {want}", top.values[k]);
    }
    assert_eq!(op.products(), top.products);

    let t = op.trace(400, 5).unwrap();
    assert!((t.trace - dense_trace).abs() < 3.0 * t.stderr, "{t:?} vs dense {dense_trace}");

    let d = op.density(2, n, 1000, 9).unwrap();
    let step = d.grid[1] - d.grid[0];
    assert!((d.values.iter().sum::<f64>() * step - 1.0).abs() < 1e-6);
    // Full-length quadratures: the density's mean is tr(H)/n (exactly, for
    // Rademacher probes, up to the probes' variance) — here checked against
    // the extremes, which bracket the grid's support.
    assert!(d.grid[0] < values[0] && *d.grid.last().unwrap() > values[n - 1]);
}

#[test]
fn the_function_is_deterministic_whatever_the_mode() {
    // Dropout is off and batch norm on its running statistics, so two
    // operators built in training mode give bit-identical products.
    let (model, train) = network();
    let loader = DataLoader::new(train, 12);
    let (a, b) = (
        LossHessian::new(&model, &CrossEntropy::default(), &loader).unwrap(),
        LossHessian::new(&model, &CrossEntropy::default(), &loader).unwrap(),
    );
    let v = a.random_direction(1);
    assert_eq!(a.apply(&v).unwrap(), b.apply(&v).unwrap());
    assert_eq!(a.value(), b.value());
    // Batching does not change the function: 12 + 12 against 8 + 8 + 8.
    let c = LossHessian::new(&model, &CrossEntropy::default(), &DataLoader::new(data(24, 4, 3, 1), 8)).unwrap();
    let (x, y) = (a.apply(&v).unwrap(), c.apply(&v).unwrap());
    assert!(x.iter().zip(&y).all(|(p, q)| (p - q).abs() < 1e-12), "{x:?} vs {y:?}");
    assert!((a.value() - c.value()).abs() < 1e-12);
    // The gradient is the gradient of that value: a central difference
    // along v agrees.
    let g: f64 = a.gradient().iter().zip(&v).map(|(g, v)| g * v).sum();
    let (theta, eps) = (a.parameters(), 1e-5);
    drop((a, b, c));
    let at_step = |s: f64| {
        let mut at = 0;
        for (_, p) in model.named_parameters() {
            let k = p.numel();
            let moved: Vec<f64> = (0..k).map(|i| theta[at + i] + s * v[at + i]).collect();
            p.set(Tensor::from_vec(moved, &p.shape()).unwrap());
            at += k;
        }
        LossHessian::new(&model, &CrossEntropy::default(), &loader).unwrap().value()
    };
    let fd = (at_step(eps) - at_step(-eps)) / (2.0 * eps);
    assert!((fd - g).abs() < 1e-7 * g.abs().max(1.0), "{fd} vs {g}");
}

#[test]
fn bad_vectors_and_models_without_parameters_are_errors() {
    let (model, train) = network();
    let op = LossHessian::new(&model, &CrossEntropy::default(), &DataLoader::new(Arc::clone(&train), 8)).unwrap();
    let e = op.apply(&[1.0, 2.0]).unwrap_err().to_string();
    assert!(e.contains("2 values") && e.contains(&op.dimension().to_string()), "{e}");
    for (_, p) in model.named_parameters() {
        p.freeze(true);
    }
    let e = LossHessian::new(&model, &CrossEntropy::default(), &DataLoader::new(train, 8)).err().unwrap().to_string();
    assert!(e.contains("no trainable parameter"), "{e}");
}

#[test]
fn hessian_vector_products_through_attention_agree_with_differences_of_the_gradient() {
    // Two transformer layers (pre-norm causal, post-norm), positions and a
    // final layer norm, on windows of a small byte text.
    let spec = ModelSpec::parse(
        "seq(embedding(16, 8), pos_embedding(6, 8), transformer(8, 2, 12, dropout=0.0, activation=gelu, norm_first=true, causal=true), \
         transformer(8, 2, 12, dropout=0.0), layernorm(8), linear(8, 16))",
    )
    .unwrap();
    let model = spec.build::<f64>(3);
    let bytes: Vec<u8> = (0..120u32).map(|i| ((i * 7 + i / 3) % 16) as u8).collect();
    let windows: Arc<dyn Dataset> = Arc::new(gradus::data::TextWindows::consecutive(Arc::new(bytes), 6).unwrap());
    let loader = DataLoader::new(windows, 8);
    let loss = CrossEntropy::default();
    let h = LossHessian::new(&model, &loss, &loader).unwrap();
    let theta = h.parameters();
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    let v: Vec<f64> = (0..theta.len()).map(|_| rand::Rng::random_range(&mut rng, -1.0..1.0)).collect();
    let hv = h.apply(&v).unwrap();
    drop(h);
    let gradient_at = |t: f64| {
        let mut at = 0;
        for (_, p) in model.named_parameters() {
            let k = p.numel();
            let moved = (0..k).map(|i| theta[at + i] + t * v[at + i]).collect();
            p.set(Tensor::from_vec(moved, &p.shape()).unwrap());
            at += k;
        }
        LossHessian::new(&model, &loss, &loader).unwrap().gradient()
    };
    let eps = 1e-5;
    let (plus, minus) = (gradient_at(eps), gradient_at(-eps));
    let scale = hv.iter().fold(0f64, |m, x| m.max(x.abs()));
    assert!(scale > 1e-3, "a Hessian-vector product that is not zero");
    for (i, ((a, b), c)) in plus.iter().zip(&minus).zip(&hv).enumerate() {
        let fd = (a - b) / (2.0 * eps);
        assert!((fd - c).abs() <= 1e-6 * scale, "component {i}: H·v {c} vs differences of the gradient {fd}");
    }
}
