//! Tensor headers are recycled per thread (`spares.rs`) and a drop decides
//! uniqueness from the strong count alone. Tensors made on one thread and
//! shared, cloned and dropped on others must keep their values: a header
//! reused while another thread still held it would show up as a wrong value.

use gradus_tensor::Tensor;
use rayon::prelude::*;

#[test]
fn tensors_shared_and_dropped_across_threads_keep_their_values() {
    for round in 0..20 {
        // Small tensors (inline buffers, the recycled kind), made here.
        let made: Vec<Tensor<f64>> =
            (0..2000).map(|i| Tensor::from_vec(vec![i as f64, round as f64], &[2]).unwrap()).collect();
        // Each worker clones, computes new small tensors (which take spares)
        // and drops its clones; the originals drop here afterwards.
        let sums: Vec<f64> = made
            .par_iter()
            .map(|t| {
                let copy = t.clone();
                let doubled = &copy + &copy;
                drop(copy);
                let scalar = Tensor::scalar(doubled.to_vec().iter().sum::<f64>());
                scalar.item()
            })
            .collect();
        for (i, (t, s)) in made.iter().zip(&sums).enumerate() {
            assert_eq!(t.to_vec(), vec![i as f64, round as f64]);
            assert_eq!(*s, 2.0 * (i as f64 + round as f64));
        }
        // Drop on another thread than the one that made them.
        std::thread::spawn(move || drop(made)).join().unwrap();
    }
}
