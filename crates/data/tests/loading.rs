//! Samplers, the loader (workers, order, errors), transforms, and the
//! readers on generated files, malformed ones included.

use gradus_data::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use std::path::PathBuf;
use std::sync::Arc;

fn runner() -> TestRunner {
    TestRunner::new_with_rng(
        Config { cases: 64, ..Config::default() },
        TestRng::from_seed(RngAlgorithm::ChaCha, &[5; 32]),
    )
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gradus-data-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn toy(n: usize) -> Arc<dyn Dataset> {
    let features = Features::F64((0..n * 3).map(|x| x as f64).collect());
    Arc::new(InMemory::new(features, vec![3], Targets::Classes((0..n).map(|i| i % 4).collect())).unwrap())
}

#[test]
fn a_shuffled_sweep_visits_every_index_once_and_differs_by_epoch() {
    runner()
        .run(&(1usize..500, any::<u64>()), |(n, seed)| {
            let s = ShuffledSampler { len: n, seed };
            let (a, b) = (s.indices(0), s.indices(1));
            let mut sorted = a.clone();
            sorted.sort_unstable();
            prop_assert_eq!(sorted, (0..n).collect::<Vec<_>>());
            prop_assert_eq!(&a, &s.indices(0)); // reproducible
            prop_assert!(n < 5 || a != b, "epochs should differ");
            Ok(())
        })
        .unwrap();
}

#[test]
fn batch_counts_follow_drop_last() {
    runner()
        .run(&(0usize..300, 1usize..40), |(n, b)| {
            let idx: Vec<usize> = (0..n).collect();
            prop_assert_eq!(batches(&idx, b, false).len(), n.div_ceil(b));
            prop_assert_eq!(batches(&idx, b, true).len(), n / b);
            prop_assert!(batches(&idx, b, true).iter().all(|c| c.len() == b));
            Ok(())
        })
        .unwrap();
}

#[test]
fn replacement_and_weighted_samplers_draw_as_asked() {
    let r = ReplacementSampler { len: 10, num_samples: 10_000, seed: 1 };
    let draws = r.indices(0);
    assert!(draws.iter().all(|&i| i < 10));
    let mut counts = [0usize; 10];
    draws.iter().for_each(|&i| counts[i] += 1);
    assert!(counts.iter().all(|&c| (800..1200).contains(&c)), "{counts:?}");
    let w = WeightedSampler::new(vec![0.0, 1.0, 3.0], 8000, 2).unwrap();
    let d = w.indices(0);
    let ones = d.iter().filter(|&&i| i == 1).count() as f64;
    assert!(!d.contains(&0) && (ones / 8000.0 - 0.25).abs() < 0.02);
    assert!(WeightedSampler::new(vec![0.0, 0.0], 5, 0).is_err());
    assert!(WeightedSampler::new(vec![-1.0, 2.0], 5, 0).is_err());
}

#[test]
fn the_same_batches_whatever_the_number_of_workers() {
    let ds = toy(103);
    let collect = |workers: usize| {
        DataLoader::new(Arc::clone(&ds), 8)
            .shuffle(9)
            .workers(workers)
            .prefetch(1)
            .epoch::<f32>(3)
            .map(|b| {
                let b = b.unwrap();
                let BatchTargets::Classes(y) = b.targets else { panic!("classes") };
                (b.features.to_vec(), y.to_vec())
            })
            .collect::<Vec<_>>()
    };
    let serial = collect(0);
    assert_eq!(serial.len(), 13);
    assert_eq!(collect(1), serial);
    assert_eq!(collect(4), serial);
    // Every example exactly once per epoch.
    let mut firsts: Vec<f32> = serial.iter().flat_map(|(f, _)| f.chunks(3).map(|c| c[0])).collect();
    firsts.sort_by(f32::total_cmp);
    assert_eq!(firsts, (0..103).map(|i| (i * 3) as f32).collect::<Vec<_>>());
}

struct Failing;

impl Dataset for Failing {
    fn len(&self) -> usize {
        20
    }
    fn feature_shape(&self) -> Vec<usize> {
        vec![1]
    }
    fn get(&self, index: usize) -> Result<Sample> {
        if index == 13 {
            return Err(DataError::Invalid("example 13 is unreadable".into()));
        }
        Ok(Sample { features: vec![index as f64], target: Target::Class(0) })
    }
}

/// Batches of at least `PARALLEL_COLLATE_MIN` values are read on several
/// threads when the loader has no workers: the same batches as one thread
/// reading them, and the first unreadable example in order is the one named.
#[test]
fn large_batches_split_across_threads_are_the_same_batches() {
    let width = 1024;
    let b = PARALLEL_COLLATE_MIN.div_ceil(width) + 3; // above the line, not a multiple of 3
    let n = 5 * b + 7;
    let features = Features::U8((0..n * width).map(|x| (x * 31 % 251) as u8).collect());
    let ds: Arc<dyn Dataset> =
        Arc::new(InMemory::new(features, vec![width], Targets::Classes((0..n).map(|i| i % 10).collect())).unwrap());
    let loader = DataLoader::new(Arc::clone(&ds), b).shuffle(4);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap();
    let split: Vec<_> = pool.install(|| loader.epoch::<f32>(1).map(Result::unwrap).collect());
    let plan = batches(&ShuffledSampler { len: n, seed: 4 }.indices(1), b, false);
    assert_eq!(split.len(), plan.len());
    for (batch, indices) in split.iter().zip(&plan) {
        let one = collate::<f32>(&*ds, indices).unwrap();
        assert_eq!(batch.features.to_vec(), one.features.to_vec());
        let (BatchTargets::Classes(y), BatchTargets::Classes(y1)) = (&batch.targets, &one.targets) else { panic!() };
        assert_eq!(y.to_vec(), y1.to_vec());
    }

    struct Unreadable(usize);
    impl Dataset for Unreadable {
        fn len(&self) -> usize {
            64
        }
        fn feature_shape(&self) -> Vec<usize> {
            vec![self.0]
        }
        fn get(&self, index: usize) -> Result<Sample> {
            if index == 37 || index == 45 {
                return Err(DataError::Invalid(format!("example {index} is unreadable")));
            }
            Ok(Sample { features: vec![index as f64; self.0], target: Target::Class(index % 3) })
        }
    }
    let wide = DataLoader::new(Arc::new(Unreadable(PARALLEL_COLLATE_MIN / 8)), 16);
    let results: Vec<_> = pool.install(|| wide.epoch::<f64>(0).collect());
    assert_eq!(results.len(), 3, "batches 0 and 1, then the error ends the epoch");
    assert!(results[..2].iter().all(Result::is_ok));
    assert_eq!(results[2].as_ref().unwrap_err().to_string(), "example 37 is unreadable");
}

/// `prefetch` is only a hint: on every kind of dataset, in range or not, it
/// changes nothing a read returns.
#[test]
fn prefetch_is_a_hint_that_changes_nothing() {
    let bytes: Arc<dyn Dataset> = Arc::new(
        InMemory::new(Features::U8((0..40).collect()), vec![2, 2], Targets::Classes((0..10).collect())).unwrap(),
    );
    let subset: Arc<dyn Dataset> = Arc::new(Subset::new(Arc::clone(&bytes), vec![9, 0, 4]).unwrap());
    let floats: Arc<dyn Dataset> = Arc::new(
        InMemory::new(Features::F64((100..120).map(f64::from).collect()), vec![2, 2], Targets::Classes(vec![1; 5]))
            .unwrap(),
    );
    let both: Arc<dyn Dataset> = Arc::new(Concat::new(vec![Arc::clone(&bytes), floats]).unwrap());
    let mapped: Arc<dyn Dataset> = Arc::new(transforms::scale_u8(Arc::clone(&subset)));
    for ds in [&bytes, &subset, &both, &mapped] {
        let before: Vec<Sample> = (0..ds.len()).map(|i| ds.get(i).unwrap()).collect();
        for i in [0, 1, ds.len() - 1, ds.len(), ds.len() + 7, usize::MAX] {
            ds.prefetch(i);
        }
        assert_eq!((0..ds.len()).map(|i| ds.get(i).unwrap()).collect::<Vec<_>>(), before);
    }
    assert_eq!(both.get(12).unwrap().features, vec![108.0, 109.0, 110.0, 111.0], "example 2 of the second part");
    assert!(matches!(both.get(15), Err(DataError::Index { index: 15, len: 15 })));
}

#[test]
fn a_worker_error_reaches_the_caller_in_order_and_ends_the_epoch() {
    for workers in [0, 3] {
        let loader = DataLoader::new(Arc::new(Failing), 4).workers(workers);
        let results: Vec<_> = loader.epoch::<f64>(0).collect();
        assert_eq!(results.len(), 4, "{workers} workers"); // batches 0–2, then the error
        assert!(results[..3].iter().all(Result::is_ok));
        assert_eq!(results[3].as_ref().unwrap_err().to_string(), "example 13 is unreadable");
    }
    // Dropping an epoch early stops its workers (the test ends, no hang).
    let loader = DataLoader::new(toy(1000), 2).workers(2).prefetch(1);
    assert_eq!(loader.epoch::<f32>(0).take(3).count(), 3);
}

/// Counts the examples read, so a test can see a read that has not been
/// asked for yet.
struct Counting(Arc<dyn Dataset>, Arc<std::sync::atomic::AtomicUsize>);

impl Dataset for Counting {
    fn len(&self) -> usize {
        self.0.len()
    }
    fn feature_shape(&self) -> Vec<usize> {
        self.0.feature_shape()
    }
    fn get(&self, index: usize) -> Result<Sample> {
        self.1.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.0.get(index)
    }
}

/// Without workers, the batch after the one handed out is read on the pool
/// meanwhile: the same batches, also on a pool of one thread whose own
/// thread asks (it reads the batch itself), and an epoch dropped while a
/// read is under way ends cleanly.
#[test]
fn the_next_batch_is_read_ahead_on_the_pool() {
    let reads = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let ds: Arc<dyn Dataset> = Arc::new(Counting(toy(40), Arc::clone(&reads)));
    let loader = DataLoader::new(Arc::clone(&ds), 8).shuffle(2);
    let mut epoch = loader.epoch::<f32>(0);
    let first = epoch.next().unwrap().unwrap();
    assert_eq!(first.features.shape(), &[8, 3]);
    let started = std::time::Instant::now();
    while reads.load(std::sync::atomic::Ordering::SeqCst) < 16 {
        assert!(started.elapsed().as_secs() < 10, "batch 1 was not read ahead");
        std::thread::yield_now();
    }
    drop(epoch); // batch 2 may be under way
    let expected: Vec<Vec<f32>> = loader.epoch::<f32>(0).map(|b| b.unwrap().features.to_vec()).collect();
    assert_eq!(expected.len(), 5);
    for threads in [1, 3] {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        let got: Vec<Vec<f32>> =
            pool.install(|| loader.epoch::<f32>(0).map(|b| b.unwrap().features.to_vec()).collect());
        assert_eq!(got, expected, "{threads} thread(s)");
    }
}

/// A dataset that panics on one example: read ahead on the pool or by a
/// worker thread, the panic reaches the caller with its message (rayon
/// alone would abort the process; a worker alone would lose the message).
#[test]
fn a_panic_while_reading_ahead_reaches_the_caller() {
    struct Panicking;
    impl Dataset for Panicking {
        fn len(&self) -> usize {
            12
        }
        fn feature_shape(&self) -> Vec<usize> {
            vec![1]
        }
        fn get(&self, index: usize) -> Result<Sample> {
            assert!(index != 9, "example 9 is cursed");
            Ok(Sample { features: vec![index as f64], target: Target::Class(0) })
        }
    }
    for workers in [0, 1, 3] {
        let loader = DataLoader::new(Arc::new(Panicking), 4).workers(workers);
        let mut epoch = loader.epoch::<f64>(0);
        assert!(epoch.next().unwrap().is_ok());
        assert!(epoch.next().unwrap().is_ok());
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| epoch.next()));
        let payload = caught.expect_err("batch 2 holds example 9");
        let message =
            payload.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| payload.downcast_ref::<String>().cloned());
        assert_eq!(message.as_deref(), Some("example 9 is cursed"), "{workers} workers");
    }
}

#[test]
fn splits_concatenation_and_transforms() {
    let ds = toy(10);
    let parts = random_split(Arc::clone(&ds), &[7, 3], 4).unwrap();
    let mut all: Vec<usize> = parts.iter().flat_map(|p| p.indices().to_vec()).collect();
    all.sort_unstable();
    assert_eq!(all, (0..10).collect::<Vec<_>>());
    assert!(random_split(Arc::clone(&ds), &[7, 4], 4).is_err());
    let both = Concat::new(vec![Arc::new(parts[0].clone()), Arc::new(parts[1].clone())]).unwrap();
    assert_eq!(both.len(), 10);
    assert!(matches!(both.get(10), Err(DataError::Index { index: 10, len: 10 })));
    // Standardise with statistics from the training split; one-hot targets.
    let stats = transforms::Standardize::fit(&parts[0], true).unwrap();
    let z = stats.apply(Arc::new(parts[0].clone()));
    let mut sums = [0.0; 3];
    for i in 0..z.len() {
        z.get(i).unwrap().features.iter().enumerate().for_each(|(j, x)| sums[j] += x);
    }
    assert!(sums.iter().all(|s| s.abs() < 1e-12), "{sums:?}");
    let hot = transforms::one_hot(Arc::clone(&ds), 4);
    assert_eq!(hot.get(2).unwrap().target, Target::Values(vec![0.0, 0.0, 1.0, 0.0]));
    let bad = transforms::one_hot(ds, 2);
    assert!(bad.get(3).is_err());
}

#[test]
fn idx_round_trips_raw_and_gzipped() {
    let pixels: Vec<u8> = (0..2 * 3 * 4).map(|x| x as u8).collect();
    let bytes = write_idx_u8(&[2, 3, 4], &pixels);
    let raw = temp("images-idx3-ubyte");
    std::fs::write(&raw, &bytes).unwrap();
    let gz = temp("images-idx3-ubyte.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut enc, &bytes).unwrap();
    std::fs::write(&gz, enc.finish().unwrap()).unwrap();
    for path in [&raw, &gz] {
        let idx = read_idx(path).unwrap();
        assert_eq!(idx.shape, vec![2, 3, 4]);
        assert_eq!(idx.data, IdxData::U8(pixels.clone()));
    }
}

#[test]
fn each_kind_of_malformed_idx_gives_its_error() {
    let good = write_idx_u8(&[2, 2], &[1, 2, 3, 4]);
    let mut bad_magic = good.clone();
    bad_magic[0] = 7;
    let mut bad_type = good.clone();
    bad_type[2] = 0x42;
    let cases: [(&str, Vec<u8>, &str); 6] = [
        ("short", vec![0, 0], "too short for an IDX header"),
        ("magic", bad_magic, "bad magic number 07000802"),
        ("type", bad_type, "unknown element type 0x42"),
        ("header", good[..7].to_vec(), "header of 2 dimensions needs 12 bytes"),
        ("truncated", good[..15].to_vec(), "need 4 bytes of data, the file has 3 (truncated)"),
        ("trailing", [&good[..], &[9]].concat(), "the file has 5 (trailing bytes)"),
    ];
    for (name, bytes, message) in cases {
        let path = temp(&format!("bad-{name}"));
        std::fs::write(&path, bytes).unwrap();
        let err = read_idx(&path).unwrap_err().to_string();
        assert!(err.contains(message) && err.contains(&*path.to_string_lossy()), "{name}: {err}");
    }
    // A gzip member that inflates far past what its header declares (10
    // bytes of data, then 200 MB of zeros) is stopped at the declared length.
    let bomb = temp("bomb.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut enc, &write_idx_u8(&[10], &[7; 10])).unwrap();
    for _ in 0..200 {
        std::io::Write::write_all(&mut enc, &[0u8; 1 << 20]).unwrap();
    }
    std::fs::write(&bomb, enc.finish().unwrap()).unwrap();
    let err = read_idx(&bomb).unwrap_err().to_string();
    assert!(err.contains("inflates past the 18 bytes its IDX header declares"), "{err}");
    let gz = temp("corrupt.gz");
    std::fs::write(&gz, [0x1f, 0x8b, 8, 0, 1, 2, 3]).unwrap();
    assert!(read_idx(&gz).unwrap_err().to_string().contains("corrupt gzip stream"));
    assert!(matches!(read_idx(temp("missing")), Err(DataError::Io { .. })));
}

#[test]
fn csv_reads_features_and_target_and_names_bad_lines() {
    let ds = parse_csv("a,b,label\n1,2,0\n\n3.5,\"4\",1\n", "label", CsvTarget::Class).unwrap();
    assert_eq!(ds.len(), 2);
    assert_eq!(ds.get(1).unwrap(), Sample { features: vec![3.5, 4.0], target: Target::Class(1) });
    let value = parse_csv("x,y\n1,0.5\n", "y", CsvTarget::Value).unwrap();
    assert_eq!(value.get(0).unwrap().target, Target::Values(vec![0.5]));
    let err = |text: &str| parse_csv(text, "label", CsvTarget::Class).err().unwrap();
    assert_eq!(err("a,label\n1,0\n2\n"), (3, "1 fields, the header has 2".into()));
    assert_eq!(err("a,label\n1,0\nx,1\n"), (3, "column `a`: `x` is not a number".into()));
    assert_eq!(err("a,label\n1,0.5\n"), (2, "column `label`: `0.5` is not a class index".into()));
    assert_eq!(err("a,b\n1,0\n").1, "no column `label`; columns: a, b");
    let path = temp("bad.csv");
    std::fs::write(&path, "a,label\n1,0\n2,nan\n").unwrap();
    let e = read_csv(&path, "label", CsvTarget::Class).unwrap_err().to_string();
    assert!(e.ends_with(":3: column `label`: `nan` is not finite"), "{e}");
}

#[test]
fn mnist_files_are_found_and_checked() {
    let dir = temp("fake-mnist");
    std::fs::create_dir_all(&dir).unwrap();
    let images = |n: usize| write_idx_u8(&[n, 28, 28], &vec![7u8; n * 784]);
    let labels = |n: usize| write_idx_u8(&[n], &(0..n).map(|i| (i % 10) as u8).collect::<Vec<_>>());
    std::fs::write(dir.join("train-images-idx3-ubyte"), images(20)).unwrap();
    std::fs::write(dir.join("train-labels-idx1-ubyte"), labels(20)).unwrap();
    std::fs::write(dir.join("t10k-images-idx3-ubyte"), images(5)).unwrap();
    let missing = mnist::load(mnist::Mnist::Digits, Some(&dir)).err().unwrap().to_string();
    let named = format!("mnist not found; {} lacks t10k-labels-idx1-ubyte(.gz)", dir.display());
    assert!(missing.starts_with(&named), "{missing}");
    std::fs::write(dir.join("t10k-labels-idx1-ubyte"), labels(4)).unwrap();
    let mismatch = mnist::load(mnist::Mnist::Digits, Some(&dir)).err().unwrap().to_string();
    assert!(mismatch.contains("labels of shape [4] for 5 images"), "{mismatch}");
    std::fs::write(dir.join("t10k-labels-idx1-ubyte"), labels(5)).unwrap();
    let (train, test) = mnist::load(mnist::Mnist::Digits, Some(&dir)).unwrap();
    assert_eq!((train.len(), test.len(), train.feature_shape()), (20, 5, vec![28, 28]));
}

#[test]
fn fashion_mnist_when_installed() {
    let Ok((train, test)) = mnist::load(mnist::Mnist::Fashion, None) else {
        eprintln!("Fashion-MNIST not installed (apt-get install dataset-fashion-mnist): skipped");
        return;
    };
    assert_eq!((train.len(), test.len(), train.feature_shape()), (60_000, 10_000, vec![28, 28]));
    let Targets::Classes(y) = train.targets() else { panic!("classes") };
    let mut counts = [0usize; 10];
    y.iter().for_each(|&c| counts[c] += 1);
    assert_eq!(counts, [6000; 10]);
    let scaled = transforms::scale_u8(Arc::new(train));
    assert!(scaled.get(0).unwrap().features.iter().all(|x| (0.0..=1.0).contains(x)));
}

/// `get_into` gives what `get` gives, through subsets, transforms and the
/// default (Concat), and an in-place transform reuses the caller's buffer.
#[test]
fn get_into_matches_get_and_reuses_the_buffer() {
    let bytes = Features::U8((0..30).map(|x| x as u8 * 8).collect());
    let raw: Arc<dyn Dataset> =
        Arc::new(InMemory::new(bytes, vec![3], Targets::Classes((0..10).map(|i| i % 4).collect())).unwrap());
    let scaled: Arc<dyn Dataset> = Arc::new(transforms::scale_u8(Arc::clone(&raw)));
    let subset: Arc<dyn Dataset> = Arc::new(Subset::new(Arc::clone(&scaled), vec![7, 2, 9]).unwrap());
    let concat: Arc<dyn Dataset> = Arc::new(Concat::new(vec![Arc::clone(&raw), toy(2)]).unwrap());
    let mut buffer = Vec::new();
    for ds in [&raw, &scaled, &subset, &concat] {
        for i in 0..ds.len() {
            let sample = ds.get(i).unwrap();
            let target = ds.get_into(i, &mut buffer).unwrap();
            assert_eq!((&buffer, target), (&sample.features, sample.target));
        }
    }
    let target = scaled.get_into(4, &mut buffer).unwrap();
    assert_eq!(target, Target::Class(0));
    assert_eq!(buffer, [96.0 / 255.0, 104.0 / 255.0, 112.0 / 255.0]);
    let mut reused = Vec::with_capacity(3);
    let before = reused.as_ptr();
    scaled.get_into(5, &mut reused).unwrap();
    assert_eq!(reused.as_ptr(), before, "scale_u8 edits in place: no new buffer");
    assert!(matches!(subset.get_into(3, &mut buffer), Err(DataError::Index { index: 3, len: 3 })));
}

#[test]
fn augmented_batches_are_the_same_for_0_1_and_4_workers() {
    use gradus_data::{Augment, DataLoader, Dataset, Features, InMemory, Targets};
    use std::sync::Arc;
    let n = 37;
    let pixels: Vec<u8> = (0..n * 2 * 6 * 5).map(|i| (i * 31 % 256) as u8).collect();
    let data: Arc<dyn Dataset> = Arc::new(
        InMemory::new(Features::U8(pixels), vec![2, 6, 5], Targets::Classes((0..n).map(|i| i % 3).collect())).unwrap(),
    );
    let augment = || Augment::new(4).crop(2).flip().normalize(vec![100.0, 120.0], vec![50.0, 60.0]);
    let batches = |workers: usize, epoch: u64| -> Vec<Vec<f32>> {
        let loader = DataLoader::new(Arc::clone(&data), 8).shuffle(1).workers(workers).augment(augment());
        loader.epoch::<f32>(epoch).map(|b| b.unwrap().features.to_vec()).collect()
    };
    let plain: Vec<Vec<f32>> = DataLoader::new(Arc::clone(&data), 8)
        .shuffle(1)
        .epoch::<f32>(2)
        .map(|b| b.unwrap().features.to_vec())
        .collect();
    let zero = batches(0, 2);
    assert_eq!(zero, batches(1, 2));
    assert_eq!(zero, batches(4, 2));
    assert_ne!(zero, plain, "augmentation changes the examples");
    assert_ne!(zero, batches(0, 3), "another epoch draws again");
}
