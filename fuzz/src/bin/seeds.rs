//! Writes the checkpoint target's seed: a real run of [`gradus_fuzz::run`]
//! saved after two steps, so the fuzzer starts from a file that resumes.

use gradus::prelude::*;

fn main() {
    let (model, mut trainer) = gradus_fuzz::run();
    let x = Var::constant(gradus::tensor::Tensor::<f32>::ones(&[4, 3]));
    let y = Targets::Classes(gradus::tensor::Tensor::from_vec(vec![0, 1, 0, 1], &[4]).unwrap());
    for _ in 0..2 {
        trainer.step(&model, &CrossEntropy::default(), &x, &y, None).unwrap();
    }
    let dir = std::path::Path::new("fuzz/corpus/checkpoint");
    std::fs::create_dir_all(dir).unwrap();
    trainer.save(&model, &dir.join("seed.safetensors")).unwrap();
}
