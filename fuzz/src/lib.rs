//! What the checkpoint targets resume into, and the run they start from.

use gradus::prelude::*;

/// A small model and a trainer configured as the seed's run was.
pub fn run() -> (Sequential<f32>, Trainer<f32>) {
    let model = gradus::models::ModelSpec::parse("mlp(3, 4, 2, dropout=0.5, batch_norm=true)").unwrap().build(0);
    let optim = Optimizer::boxed(gradus::optim::parse("adam(lr=0.01, amsgrad=true)").unwrap());
    let trainer = Trainer::new(optim).record("model", "mlp(3, 4, 2, dropout=0.5, batch_norm=true)");
    (model, trainer)
}

/// Saves [`run`] after two steps to `path`: a checkpoint that resumes.
pub fn seed(path: &std::path::Path) {
    let (model, mut trainer) = run();
    let x = Var::constant(gradus::tensor::Tensor::<f32>::ones(&[4, 3]));
    let y = Targets::Classes(gradus::tensor::Tensor::from_vec(vec![0, 1, 0, 1], &[4]).unwrap());
    for _ in 0..2 {
        trainer.step(&model, &CrossEntropy::default(), &x, &y, None).unwrap();
    }
    trainer.save(&model, path).unwrap();
}
