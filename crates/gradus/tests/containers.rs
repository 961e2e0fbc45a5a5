//! The container contract: a container defined here declares its children
//! and nothing else, and training mode, evaluation, the optimiser,
//! checkpoint names and observation all reach inside it.

mod common;

use common::blobs;
use gradus::nn::checkpoint::{Checkpoint, restore, store};
use gradus::nn::{BatchNorm1d, Dropout, Relu};
use gradus::prelude::*;
use gradus::tensor::Float;
use std::sync::Arc;

/// A block holding a stack (linear, batch norm, ReLU, dropout) and a head,
/// summed with a skip from the stack's input: only `forward` and
/// `children` are written.
struct Block<T: Float> {
    stack: Box<dyn Module<T>>,
    head: Box<dyn Module<T>>,
    skip: Box<dyn Module<T>>,
}

impl<T: Float> Module<T> for Block<T> {
    fn forward(&self, tape: &Tape<T>, x: &Var<T>) -> Var<T> {
        self.head.forward(tape, &self.stack.forward(tape, x)).add(&self.skip.forward(tape, x))
    }

    fn children(&self) -> Vec<(String, &dyn Module<T>)> {
        vec![
            ("stack".into(), self.stack.as_ref()),
            ("head".into(), self.head.as_ref()),
            ("skip".into(), self.skip.as_ref()),
        ]
    }
}

fn block(seed: u64) -> Block<f32> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let stack = Sequential::new()
        .append(Linear::new(2, 16, &mut rng))
        .append(BatchNorm1d::new(16))
        .append(Relu)
        .append(Dropout::seeded(0.5, 1));
    Block {
        stack: Box::new(stack),
        head: Box::new(Linear::new(16, 4, &mut rng)),
        skip: Box::new(Linear::new(2, 4, &mut rng)),
    }
}

#[test]
fn names_are_the_nested_pytorch_names() {
    let model = block(0);
    let params: Vec<String> = model.named_parameters().into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        params,
        [
            "stack.0.weight",
            "stack.0.bias",
            "stack.1.weight",
            "stack.1.bias",
            "head.weight",
            "head.bias",
            "skip.weight",
            "skip.bias"
        ]
    );
    let buffers: Vec<String> = model.named_buffers().into_iter().map(|(n, _)| n).collect();
    assert_eq!(buffers, ["stack.1.running_mean", "stack.1.running_var", "stack.1.num_batches_tracked"]);
    // A checkpoint written from one block loads into another, by those names.
    let mut ck = Checkpoint::new();
    store(&model, &mut ck, "model.");
    assert!(ck.contains("model.stack.1.running_var") && ck.contains("model.stack.3.seed"));
    let other = block(1);
    restore(&other, &ck, "model.").unwrap();
    assert_eq!(other.named_parameters()[4].1.value().to_vec(), model.named_parameters()[4].1.value().to_vec());
}

#[test]
fn modes_reach_the_dropout_and_batch_norm_inside() {
    let model = block(0);
    assert_eq!(model.training(), Some(true));
    model.eval();
    assert_eq!(model.training(), Some(false));
    assert_eq!(
        model.stack.children().iter().map(|(_, m)| m.mode()).collect::<Vec<_>>(),
        [None, Some(false), None, Some(false)]
    );
    model.train();
    assert_eq!(model.stack.children()[1].1.mode(), Some(true));
    assert_eq!(model.stack.children()[3].1.mode(), Some(true));
}

#[test]
fn training_and_evaluation_go_through_the_declaration() {
    let (train, test) = (blobs(800, 1), blobs(400, 2));
    let loader = DataLoader::new(Arc::clone(&train), 32).shuffle(5);
    let (monitor, test) = (DataLoader::new(train, 200), DataLoader::new(test, 200));
    let model = block(0);
    let before: Vec<Vec<f32>> = model.named_parameters().iter().map(|(_, p)| p.value().to_vec()).collect();
    let mut trainer = Trainer::new(Optimizer::boxed(gradus::optim::parse("adam(lr=0.01)").unwrap()));
    let loss = CrossEntropy::default();
    let loaders = Loaders { train: &loader, monitor: &monitor, test: &test };
    let mut m = trainer.epoch(&model, &loss, &loaders).unwrap();
    for _ in 0..3 {
        m = trainer.epoch(&model, &loss, &loaders).unwrap();
    }
    // Every parameter, however deep, reached the optimiser.
    for ((name, p), old) in model.named_parameters().iter().zip(&before) {
        assert_ne!(&p.value().to_vec(), old, "{name} did not move");
    }
    assert!(m.test_accuracy > 0.95, "{m:?}");
    // The ReLU inside the stack was observed, by its nested name.
    assert_eq!(m.dead_units.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), ["stack.2"]);
    // Evaluation runs the block in evaluation mode: the dropout draws
    // nothing (two evaluations agree) and the batch norm's running
    // statistics do not move; the mode comes back afterwards.
    let stats = |m: &Block<f32>| m.named_buffers().iter().map(|(_, b)| b.value().to_vec()).collect::<Vec<_>>();
    let kept = stats(&model);
    let (a, b) = (evaluate(&model, &loss, &test).unwrap(), evaluate(&model, &loss, &test).unwrap());
    assert_eq!((a.loss, a.accuracy), (b.loss, b.accuracy));
    assert_eq!(a.accuracy, m.test_accuracy);
    assert_eq!(stats(&model), kept);
    assert_eq!(model.training(), Some(true));
}
