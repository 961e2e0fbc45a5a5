//! Fuzz target: the IDX parser must return an error, never panic, and never
//! accept data whose length does not match its dimensions.
#![no_main]

use gradus_data::{IdxData, parse_idx};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(idx) = parse_idx(data) {
        let count: usize = idx.shape.iter().product();
        let len = match &idx.data {
            IdxData::U8(v) => v.len(),
            IdxData::I8(v) => v.len(),
            IdxData::I16(v) => v.len(),
            IdxData::I32(v) => v.len(),
            IdxData::F32(v) => v.len(),
            IdxData::F64(v) => v.len(),
        };
        assert_eq!(count, len);
    }
});
