//! The IDX format of MNIST and Fashion-MNIST, raw or gzip-compressed:
//! magic number, element type, dimensions, then big-endian data. Every
//! inconsistency is an error naming the file; nothing is truncated silently.

use crate::error::{DataError, Result};
use std::io::Read;
use std::path::Path;

/// The elements of an IDX file.
#[derive(Clone, Debug, PartialEq)]
pub enum IdxData {
    /// 0x08.
    U8(Vec<u8>),
    /// 0x09.
    I8(Vec<i8>),
    /// 0x0B.
    I16(Vec<i16>),
    /// 0x0C.
    I32(Vec<i32>),
    /// 0x0D.
    F32(Vec<f32>),
    /// 0x0E.
    F64(Vec<f64>),
}

impl IdxData {
    /// The number of elements.
    pub fn len(&self) -> usize {
        match self {
            IdxData::U8(v) => v.len(),
            IdxData::I8(v) => v.len(),
            IdxData::I16(v) => v.len(),
            IdxData::I32(v) => v.len(),
            IdxData::F32(v) => v.len(),
            IdxData::F64(v) => v.len(),
        }
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A parsed IDX file.
#[derive(Clone, Debug, PartialEq)]
pub struct Idx {
    /// The dimensions.
    pub shape: Vec<usize>,
    /// The elements, row-major.
    pub data: IdxData,
}

/// Reads an IDX file, gunzipping it first if it starts with gzip's magic.
///
/// # Errors
/// [`DataError::Io`] if it cannot be read; [`DataError::Format`] naming the
/// file and the problem otherwise.
pub fn read_idx(path: impl AsRef<Path>) -> Result<Idx> {
    let path = path.as_ref();
    let raw = std::fs::read(path).map_err(|source| DataError::Io { path: path.to_path_buf(), source })?;
    let format = |reason| DataError::Format { path: path.to_path_buf(), reason };
    let bytes = if raw.starts_with(&[0x1f, 0x8b]) { gunzip_idx(&raw).map_err(format)? } else { raw };
    parse_idx(&bytes).map_err(format)
}

/// Inflates a gzipped IDX file no further than its header says it holds
/// (plus one byte, to tell that more follows): a stream that inflates past
/// that is refused before it is held in memory.
fn gunzip_idx(raw: &[u8]) -> std::result::Result<Vec<u8>, String> {
    let mut reader = flate2::read::GzDecoder::new(raw);
    let corrupt = |e: std::io::Error| format!("corrupt gzip stream: {e}");
    let mut out = Vec::new();
    // The fixed part of the header, then the dimensions it announces.
    (&mut reader).take(4).read_to_end(&mut out).map_err(corrupt)?;
    if out.len() < 4 {
        return Ok(out); // parse_idx names what is short
    }
    let rank = out[3] as u64;
    (&mut reader).take(4 * rank).read_to_end(&mut out).map_err(corrupt)?;
    let Some(declared) = declared_length(&out) else { return Ok(out) };
    let limit = declared.saturating_sub(out.len() as u64).saturating_add(1);
    (&mut reader).take(limit).read_to_end(&mut out).map_err(corrupt)?;
    if out.len() as u64 > declared {
        return Err(format!(
            "the gzip stream inflates past the {declared} bytes its IDX header declares (trailing bytes); stopped reading there"
        ));
    }
    Ok(out)
}

/// The length of the whole file an IDX header declares (header and data),
/// if the header is complete and its element type known.
fn declared_length(header: &[u8]) -> Option<u64> {
    let size = match header.get(2)? {
        0x08 | 0x09 => 1u64,
        0x0B => 2,
        0x0C | 0x0D => 4,
        0x0E => 8,
        _ => return None,
    };
    let rank = *header.get(3)? as usize;
    let dims = header.get(4..4 + 4 * rank)?;
    let count = dims
        .chunks_exact(4)
        .try_fold(1u64, |a, d| a.checked_mul(u32::from_be_bytes(d.try_into().expect("4 bytes")) as u64))?;
    count.checked_mul(size)?.checked_add(4 + 4 * rank as u64)
}

/// Parses IDX bytes (already decompressed); the error says what is wrong.
///
/// # Errors
/// A message for a short header, bad magic, unknown type, or a data length
/// that does not match the dimensions.
pub fn parse_idx(bytes: &[u8]) -> std::result::Result<Idx, String> {
    if bytes.len() < 4 {
        return Err(format!("{} bytes is too short for an IDX header", bytes.len()));
    }
    if bytes[0] != 0 || bytes[1] != 0 {
        return Err(format!(
            "bad magic number {:02x}{:02x}{:02x}{:02x} (IDX starts with 00 00)",
            bytes[0], bytes[1], bytes[2], bytes[3]
        ));
    }
    let size = match bytes[2] {
        0x08 | 0x09 => 1,
        0x0B => 2,
        0x0C | 0x0D => 4,
        0x0E => 8,
        t => return Err(format!("unknown element type 0x{t:02x}")),
    };
    let rank = bytes[3] as usize;
    let header = 4 + 4 * rank;
    if bytes.len() < header {
        return Err(format!("header of {rank} dimensions needs {header} bytes, the file has {}", bytes.len()));
    }
    let shape: Vec<usize> = (0..rank)
        .map(|i| u32::from_be_bytes(bytes[4 + 4 * i..8 + 4 * i].try_into().expect("4 bytes")) as usize)
        .collect();
    let count = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d)).ok_or("dimensions overflow")?;
    let expected = count.checked_mul(size).ok_or("dimensions overflow")?;
    let body = &bytes[header..];
    if body.len() != expected {
        return Err(format!(
            "dimensions {shape:?} need {expected} bytes of data, the file has {} ({})",
            body.len(),
            if body.len() < expected { "truncated" } else { "trailing bytes" }
        ));
    }
    let chunks = |n: usize| body.chunks_exact(n);
    let data = match bytes[2] {
        0x08 => IdxData::U8(body.to_vec()),
        0x09 => IdxData::I8(body.iter().map(|&b| b as i8).collect()),
        0x0B => IdxData::I16(chunks(2).map(|c| i16::from_be_bytes([c[0], c[1]])).collect()),
        0x0C => IdxData::I32(chunks(4).map(|c| i32::from_be_bytes(c.try_into().expect("4"))).collect()),
        0x0D => IdxData::F32(chunks(4).map(|c| f32::from_be_bytes(c.try_into().expect("4"))).collect()),
        _ => IdxData::F64(chunks(8).map(|c| f64::from_be_bytes(c.try_into().expect("8"))).collect()),
    };
    Ok(Idx { shape, data })
}

/// Encodes u8 data as IDX (for tests and tools).
pub fn write_idx_u8(shape: &[usize], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 0x08, shape.len() as u8];
    for &d in shape {
        out.extend((d as u32).to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}
