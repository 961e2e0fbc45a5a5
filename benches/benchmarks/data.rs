//! Data: Fashion-MNIST batches of 128 through the whole loader (shuffle,
//! bytes to [0, 1], flatten, collate to f32), with 0 and 2 workers; the
//! throughput is in batches. Skipped when the dataset is not installed.

use criterion::{Criterion, Throughput};
use gradus_data::{DataLoader, mnist, transforms};
use std::hint::black_box;
use std::sync::Arc;

const BATCHES: usize = 200;

fn data_benches(c: &mut Criterion) {
    let Ok((train, _)) = mnist::load(mnist::Mnist::Fashion, None) else {
        eprintln!("Fashion-MNIST not installed (apt-get install dataset-fashion-mnist): data benches skipped");
        return;
    };
    let ds = Arc::new(transforms::flatten(Arc::new(transforms::scale_u8(Arc::new(train)))));
    let mut group = c.benchmark_group("data");
    group.throughput(Throughput::Elements(BATCHES as u64));
    for workers in [0, 2] {
        let loader = DataLoader::new(ds.clone(), 128).shuffle(0).workers(workers);
        group.bench_function(format!("fashion_mnist_b128_{workers}_workers"), |b| {
            b.iter(|| {
                for batch in loader.epoch::<f32>(0).take(BATCHES) {
                    black_box(batch.expect("readable"));
                }
            })
        });
    }
    group.finish();
}

criterion::criterion_group! {
    name = benches;
    config = super::config();
    targets = data_benches
}
