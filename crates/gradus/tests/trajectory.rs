//! A run's trajectory: snapshots taken when due and kept across a save and
//! load, and its principal directions — for a path inside a plane they
//! span that plane and place every snapshot back on it exactly.

use gradus::landscape::State;
use gradus::models::ModelSpec;
use gradus::prelude::*;
use gradus::trajectory::{load_trajectory, principal_directions, save_trajectory};

#[test]
fn a_path_in_a_plane_is_spanned_by_its_principal_directions() {
    let model = ModelSpec::parse("seq(linear(3, 4), tanh, linear(4, 2))").unwrap().build::<f64>(1);
    let end = State::of(&model);
    let flat: Vec<f64> = end.params.iter().flat_map(|t| t.to_vec()).collect();
    let n = flat.len();
    let u: Vec<f64> = (0..n).map(|i| (i as f64 * 0.7).sin()).collect();
    let v: Vec<f64> = (0..n).map(|i| if i % 3 == 0 { 1.0 } else { -0.5 }).collect();
    let points: Vec<(usize, Vec<f64>)> = (0..8)
        .map(|k| {
            let (a, b) = (2.0 - 0.25 * k as f64, (k as f64 * 0.9).cos());
            (k * 10, flat.iter().zip(&u).zip(&v).map(|((c, u), v)| c + a * u + b * v).collect())
        })
        .collect();
    let ((d1, d2), explained, coords) = principal_directions(&end, &points).unwrap();
    assert!((explained[0] + explained[1] - 1.0).abs() < 1e-12, "{explained:?}");
    assert!(explained[0] >= explained[1]);
    let (d1, d2): (Vec<f64>, Vec<f64>) =
        (d1.params.iter().flat_map(|t| t.to_vec()).collect(), d2.params.iter().flat_map(|t| t.to_vec()).collect());
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    assert!((dot(&d1, &d1) - 1.0).abs() < 1e-12 && (dot(&d2, &d2) - 1.0).abs() < 1e-12 && dot(&d1, &d2).abs() < 1e-12);
    for ((_, p), (a, b)) in points.iter().zip(&coords) {
        for i in 0..n {
            let back = flat[i] + a * d1[i] + b * d2[i];
            assert!((back - p[i]).abs() < 1e-10, "{back} vs {}", p[i]);
        }
    }
    // Too few snapshots away from the end.
    let err = principal_directions(&end, &[(0, flat.clone()), (5, points[0].1.clone())]).unwrap_err();
    assert!(err.to_string().contains("need two"), "{err}");
}

#[test]
fn the_trainer_keeps_the_start_and_every_nth_step_and_a_file_keeps_them() {
    let model = ModelSpec::parse("seq(linear(3, 2))").unwrap().build::<f64>(2);
    let mut trainer =
        Trainer::new(Optimizer::boxed(gradus::optim::parse::<f64>("sgd(lr=0.1)").unwrap())).with_trajectory(2);
    let flat = |m: &dyn Module<f64>| -> Vec<f64> {
        m.named_parameters().iter().flat_map(|(_, p)| p.value().to_vec()).collect()
    };
    let start = flat(&model);
    let data = gradus::data::InMemory::new(
        gradus::data::Features::F64((0..12).map(|i| i as f64 / 12.0).collect()),
        vec![3],
        gradus::data::Targets::Classes(vec![0, 1, 0, 1]),
    )
    .unwrap();
    let loader = DataLoader::new(std::sync::Arc::new(data), 1);
    let loaders = Loaders { train: &loader, monitor: &loader, test: &loader };
    trainer.epoch(&model, &CrossEntropy::default(), &loaders).unwrap();
    // Four steps of one example: snapshots after steps 2 and 4.
    let kept: Vec<usize> = trainer.trajectory().iter().map(|(s, _)| *s).collect();
    assert_eq!(kept, vec![0, 2, 4]);
    assert_eq!(trainer.trajectory()[0].1, start);
    assert_eq!(trainer.trajectory()[2].1, flat(&model));
    let file = std::env::temp_dir().join(format!("gradus-trajectory-{}.safetensors", std::process::id()));
    save_trajectory(&file, trainer.trajectory()).unwrap();
    let back = load_trajectory::<f64>(&file, 8).unwrap();
    assert_eq!(back, trainer.trajectory().to_vec());
    assert!(load_trajectory::<f64>(&file, 9).unwrap_err().to_string().contains("the model has 9"));
    std::fs::remove_file(&file).unwrap();
}
