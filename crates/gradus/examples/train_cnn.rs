//! A convolutional network on Fashion-MNIST: two 3×3 convolutions with
//! ReLU and 2×2 max pooling, dropout, a hidden layer of 128, Adam at 1e-3
//! with the rate annealed on a cosine over the run; test accuracy per epoch
//! and a checkpoint at the end. The recipe of docs/guide.md.
//!
//! `cargo run --release -p gradus --example train_cnn -- [epochs] [seed]`

use gradus::data::Subset;
use gradus::models::ModelSpec;
use gradus::prelude::*;
use std::sync::Arc;

/// The network, as `gradus train --model` takes it.
const MODEL: &str = "seq(conv2d(1, 32, 3, padding=1), relu, maxpool2d(2), \
                     conv2d(32, 64, 3, padding=1), relu, maxpool2d(2), \
                     flatten, dropout(0.25), linear(3136, 128), relu, linear(128, 10))";

fn main() -> Result<(), GradusError> {
    gradus::tensor::init_threads(0).expect("nothing has used rayon before main");
    let mut args = std::env::args().skip(1).map(|a| a.parse::<u64>().expect("numbers: [epochs] [seed]"));
    let (epochs, seed) = (args.next().unwrap_or(15), args.next().unwrap_or(0));

    // Data: bytes to [0, 1], each image [1, 28, 28] (one channel).
    let (train, test) = mnist::load(mnist::Mnist::Fashion, None)?;
    let prep = |d| -> Arc<dyn Dataset> {
        Arc::new(transforms::reshape(Arc::new(transforms::scale_u8(Arc::new(d))), vec![1, 28, 28]))
    };
    let (train, test) = (prep(train), prep(test));
    let monitor: Arc<dyn Dataset> = Arc::new(Subset::new(Arc::clone(&train), (0..5000).collect())?);
    let train_loader = DataLoader::new(train, 128).shuffle(seed).workers(1);
    let (monitor_loader, test_loader) = (DataLoader::new(monitor, 1000), DataLoader::new(test, 1000));

    // Model (PyTorch's initialisation), loss, Adam with a cosine schedule per epoch.
    let spec = ModelSpec::parse(MODEL).map_err(|e| GradusError::Config(e.to_string()))?;
    let model = spec.build::<f32>(seed);
    spec.check(&model, &[28, 28], 10).map_err(GradusError::Config)?;
    println!("{} parameters", model.num_parameters());
    let loss = CrossEntropy::default();
    let cosine = gradus::sched::parse(&format!("cosine(t_max={epochs})"))?;
    let mut trainer =
        Trainer::new(Optimizer::boxed(gradus::optim::parse("adam(lr=1e-3)")?)).with_schedule(cosine, Every::Epoch)?;

    let start = std::time::Instant::now();
    for _ in 0..epochs {
        let m = trainer.epoch(
            &model,
            &loss,
            &Loaders { train: &train_loader, monitor: &monitor_loader, test: &test_loader },
        )?;
        println!(
            "epoch {:>2}: train loss {:.4}, test loss {:.4}, test accuracy {:.4} ({:.1} s)",
            m.epoch, m.train_loss, m.test_loss, m.test_accuracy, m.seconds
        );
    }
    println!("{epochs} epochs in {:.1} s", start.elapsed().as_secs_f64());
    let path = std::env::temp_dir().join("gradus-cnn.safetensors");
    gradus::nn::save(&model, &path)?;
    println!("weights saved to {}", path.display());
    Ok(())
}
