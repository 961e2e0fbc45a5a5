//! The fuzz targets' properties on stable (fuzz/ runs them under libFuzzer):
//! the IDX and CSV parsers never panic, on random bytes and on mutations of
//! valid files, and whatever they accept is consistent.

use gradus_data::{CsvTarget, Dataset, parse_csv, parse_idx, write_idx_u8};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

fn runner(cases: u32) -> TestRunner {
    TestRunner::new_with_rng(Config { cases, ..Config::default() }, TestRng::from_seed(RngAlgorithm::ChaCha, &[3; 32]))
}

#[test]
fn idx_never_panics_on_random_or_mutated_input() {
    let valid = write_idx_u8(&[3, 4], &(0..12).collect::<Vec<u8>>());
    let strategy = (
        proptest::collection::vec(any::<u8>(), 0..64),
        proptest::collection::vec((0usize..valid.len(), any::<u8>()), 0..4),
        0usize..valid.len() + 8,
    );
    runner(20_000)
        .run(&strategy, |(random, flips, cut)| {
            for input in [random.clone(), {
                let mut m = valid.clone();
                flips.iter().for_each(|&(i, b)| m[i] = b);
                m.truncate(cut);
                m
            }] {
                if let Ok(idx) = parse_idx(&input) {
                    prop_assert_eq!(idx.shape.iter().product::<usize>(), idx.data.len());
                }
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn csv_never_panics_on_random_or_mutated_input() {
    let valid = "a,b,y\n1,2,0\n3,4.5,1\n";
    let strategy =
        ("[a-z0-9,.\"\\- \n]{0,60}", proptest::collection::vec((0usize..valid.len(), "[,\"\n0-9a-z.-]"), 0..4));
    runner(20_000)
        .run(&strategy, |(random, edits)| {
            let mut mutated = valid.to_string();
            for (i, c) in &edits {
                let i = (*i).min(mutated.len());
                if mutated.is_char_boundary(i) {
                    mutated.insert_str(i, c);
                }
            }
            for text in [random.as_str(), mutated.as_str()] {
                for kind in [CsvTarget::Class, CsvTarget::Value] {
                    if let Ok(ds) = parse_csv(text, "y", kind) {
                        for i in 0..ds.len() {
                            prop_assert!(ds.get(i).is_ok());
                        }
                    }
                }
            }
            Ok(())
        })
        .unwrap();
}
