//! The canonical training loop: an MLP 784-256-128-10 (ReLU) on
//! Fashion-MNIST with Adam, ten epochs, test accuracy per epoch, and a
//! checkpoint at the end.
//!
//! `cargo run --release -p gradus --example train_mlp -- [epochs] [seed]`

use gradus::data::Subset;
use gradus::prelude::*;
use std::sync::Arc;

fn main() -> Result<(), GradusError> {
    // The thread that trains does its share of the parallel work (all cores, or RAYON_NUM_THREADS).
    gradus::tensor::init_threads(0).expect("nothing has used rayon before main");
    let mut args = std::env::args().skip(1).map(|a| a.parse::<u64>().expect("numbers: [epochs] [seed]"));
    let (epochs, seed) = (args.next().unwrap_or(10), args.next().unwrap_or(0));

    // Data: bytes to [0, 1], 28×28 to 784; a fixed subset to monitor the training loss.
    let (train, test) = mnist::load(mnist::Mnist::Fashion, None)?;
    let prep = |d| -> Arc<dyn Dataset> { Arc::new(transforms::flatten(Arc::new(transforms::scale_u8(Arc::new(d))))) };
    let (train, test) = (prep(train), prep(test));
    let monitor: Arc<dyn Dataset> = Arc::new(Subset::new(Arc::clone(&train), (0..5000).collect())?);
    let train_loader = DataLoader::new(train, 128).shuffle(seed).workers(1);
    let (monitor_loader, test_loader) = (DataLoader::new(monitor, 1000), DataLoader::new(test, 1000));

    // Model, loss, optimiser.
    let model = Mlp::new(&[784, 256, 128, 10])
        .activation(Activation::Relu)
        .build::<f32, _>(&mut rand::rngs::StdRng::seed_from_u64(seed));
    let loss = CrossEntropy::default();
    let mut trainer = Trainer::new(Optimizer::boxed(gradus::optim::parse("adam(lr=1e-3)")?));

    let start = std::time::Instant::now();
    for _ in 0..epochs {
        let m = trainer.epoch(
            &model,
            &loss,
            &Loaders { train: &train_loader, monitor: &monitor_loader, test: &test_loader },
        )?;
        println!(
            "epoch {:>2}: train loss {:.4}, test loss {:.4}, test accuracy {:.4}",
            m.epoch, m.train_loss, m.test_loss, m.test_accuracy
        );
    }
    println!("{epochs} epochs in {:.1} s", start.elapsed().as_secs_f64());
    let path = std::env::temp_dir().join("gradus-mlp.safetensors");
    gradus::nn::save(&model, &path)?;
    println!("weights saved to {}", path.display());
    Ok(())
}
