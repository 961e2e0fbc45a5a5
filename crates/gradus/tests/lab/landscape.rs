//! Loss landscapes: interpolation between states, filter-normalised
//! directions, and the curvature a line through a quadratic loss shows.

use gradus::data::{Features, InMemory, Targets};
use gradus::hessian::LossHessian;
use gradus::landscape::{Landscape, State, filter_normalised_direction};
use gradus::prelude::*;
use std::sync::Arc;

fn data(n: usize, seed: u64) -> Arc<dyn Dataset> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let x = (0..n * 3).map(|_| rand::Rng::random_range(&mut rng, -1.0..1.0)).collect();
    Arc::new(InMemory::new(Features::F64(x), vec![3], Targets::Classes((0..n).map(|i| i % 3).collect())).unwrap())
}

fn network(seed: u64) -> Sequential<f64> {
    gradus::models::ModelSpec::parse("seq(linear(3, 5), batchnorm1d(5), tanh, linear(5, 3))").unwrap().build(seed)
}

#[test]
fn interpolation_ends_at_both_states_and_the_model_is_restored() {
    let (a, b) = (network(1), network(2));
    let loader = DataLoader::new(data(40, 3), 16);
    let loss = CrossEntropy::default();
    // Different running statistics too: one training epoch on b.
    let mut t = Trainer::new(Optimizer::boxed(gradus::optim::parse("sgd(lr=0.3)").unwrap()));
    t.epoch(&b, &loss, &Loaders { train: &loader, monitor: &loader, test: &loader }).unwrap();
    let (at_a, at_b) = (evaluate(&a, &loss, &loader).unwrap(), evaluate(&b, &loss, &loader).unwrap());
    let before = State::of(&a);
    {
        let land = Landscape::new(&a, &loss, &loader);
        let line = land.interpolate(&State::of(&b), &[0.0, 0.5, 1.0]).unwrap();
        assert_eq!(line[0], at_a);
        assert!((line[2].loss - at_b.loss).abs() < 1e-12 && line[2].accuracy == at_b.accuracy);
        assert!(line[1].loss.is_finite());
    }
    assert_eq!(State::of(&a), before, "the model was not put back");
}

#[test]
fn directions_are_filter_normalised_and_leave_biases_alone() {
    let model = network(4);
    let at = State::of(&model);
    let d = filter_normalised_direction(&model, &at, 7);
    for ((name, _), (theta, dir)) in model.named_parameters().iter().zip(at.params.iter().zip(&d.params)) {
        let shape = theta.shape();
        if shape.len() < 2 {
            assert!(dir.to_vec().iter().all(|x| *x == 0.0), "{name} moved");
            continue;
        }
        let per = theta.numel() / shape[0];
        let (w, v) = (theta.to_vec(), dir.to_vec());
        for f in 0..shape[0] {
            let norm = |s: &[f64]| s.iter().map(|x| x * x).sum::<f64>().sqrt();
            let (wn, vn) = (norm(&w[f * per..(f + 1) * per]), norm(&v[f * per..(f + 1) * per]));
            assert!((wn - vn).abs() < 1e-12 * wn, "{name} filter {f}: {vn} vs {wn}");
        }
    }
    assert!(d.buffers.iter().all(|b| b.to_vec().iter().all(|x| *x == 0.0)));
    // Another seed, another direction; the same seed, the same one.
    assert_ne!(filter_normalised_direction(&model, &at, 8), d);
    assert_eq!(filter_normalised_direction(&model, &at, 7), d);
}

/// Along a line, a quadratic loss is a parabola whose second difference is
/// dᵀHd: the landscape and the Hessian operator agree.
#[test]
fn a_line_through_a_quadratic_shows_its_curvature() {
    let n = 50;
    let mut rng = rand::rngs::StdRng::seed_from_u64(9);
    let x: Vec<f64> = (0..n * 3).map(|_| rand::Rng::random_range(&mut rng, -1.0..1.0)).collect();
    let y: Vec<f64> = (0..n).map(|i| x[3 * i] + 0.3).collect();
    let set: Arc<dyn Dataset> =
        Arc::new(InMemory::new(Features::F64(x), vec![3], Targets::Values { data: y, width: 1 }).unwrap());
    let model: Sequential<f64> = Mlp::new(&[3, 1]).build(&mut rand::rngs::StdRng::seed_from_u64(2));
    let loader = DataLoader::new(set, 20);
    let loss = gradus::loss::Regression::Mse(Reduction::Mean);
    let at = State::of(&model);
    let d = State { params: at.params.iter().map(|p| p.map(|x| 0.7 * x + 0.1)).collect(), buffers: vec![] };
    let h = 1e-2;
    let line = Landscape::new(&model, &loss, &loader).line(&d, &[-h, 0.0, h]).unwrap();
    let second = (line[0].loss - 2.0 * line[1].loss + line[2].loss) / (h * h);
    let flat: Vec<f64> = d.params.iter().flat_map(|p| p.to_vec()).collect();
    let op = LossHessian::new(&model, &loss, &loader).unwrap();
    let dhd: f64 = op.apply(&flat).unwrap().iter().zip(&flat).map(|(a, b)| a * b).sum();
    assert!((second - dhd).abs() < 1e-6 * dhd, "{second} vs dᵀHd {dhd}");
}

#[test]
fn a_plane_is_a_grid_centred_on_the_model() {
    let model = network(5);
    let loader = DataLoader::new(data(30, 6), 30);
    let loss = CrossEntropy::default();
    let centre = evaluate(&model, &loss, &loader).unwrap();
    let land = Landscape::new(&model, &loss, &loader);
    let (d1, d2) =
        (filter_normalised_direction(&model, land.origin(), 1), filter_normalised_direction(&model, land.origin(), 2));
    let grid = land.plane((&d1, &d2), &[-1.0, 0.0, 1.0, 2.0], &[-0.5, 0.0, 0.5]).unwrap();
    assert_eq!((grid.len(), grid[0].len()), (3, 4));
    assert_eq!(grid[1][1], centre);
    assert!(grid.iter().flatten().all(|e| e.loss.is_finite() && e.loss > 0.0));
}
