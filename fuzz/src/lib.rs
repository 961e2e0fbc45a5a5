//! What the checkpoint target resumes into, and the seed it starts from.

use gradus::prelude::*;

/// A small model and a trainer configured as the seed's run was.
pub fn run() -> (Sequential<f32>, Trainer<f32>) {
    let model = gradus::models::ModelSpec::parse("mlp(3, 4, 2, dropout=0.5, batch_norm=true)").unwrap().build(0);
    let optim = Optim::boxed(gradus::optim::parse("adam(lr=0.01, amsgrad=true)").unwrap());
    let trainer = Trainer::new(optim).record("model", "mlp(3, 4, 2, dropout=0.5, batch_norm=true)");
    (model, trainer)
}
