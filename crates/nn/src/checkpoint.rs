//! Checkpoints in the safetensors format: a [`Checkpoint`] of named tensors
//! and string metadata that any part of a run (model, optimiser, schedule)
//! writes into, and [`save`]/[`load`] for a model's parameters and buffers.
//!
//! Loading validates everything before changing anything: a file that does
//! not fit the model is an error listing every mismatch, and the model is
//! left as it was.

use crate::error::{NnError, Result};
use crate::{Module, Slot};
use gradus_tensor::{Float, Tensor};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// One stored tensor: element type, shape and little-endian bytes.
#[derive(Clone, Debug, PartialEq)]
struct Entry {
    dtype: Dtype,
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

/// Named tensors (f32, f64, or u64 counters) and string metadata, as one
/// safetensors file holds them.
///
/// # Examples
/// ```
/// use gradus_nn::Checkpoint;
/// use gradus_tensor::Tensor;
/// let mut ck = Checkpoint::new();
/// ck.insert("w", &Tensor::from_vec(vec![1.5f32, -2.0], &[2]).unwrap());
/// ck.insert_u64("step", &[7]);
/// ck.set_metadata("format", "gradus");
/// let path = std::env::temp_dir().join(format!("gradus-doc-{}.safetensors", std::process::id()));
/// ck.save(&path).unwrap();
/// let back = Checkpoint::load(&path).unwrap();
/// assert_eq!(back.get::<f32>("w").unwrap().to_vec(), vec![1.5, -2.0]);
/// assert_eq!(back.get_u64("step").unwrap(), vec![7]);
/// assert_eq!(back.metadata("format"), Some("gradus"));
/// std::fs::remove_file(path).unwrap();
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Checkpoint {
    entries: BTreeMap<String, Entry>,
    metadata: BTreeMap<String, String>,
}

fn dtype_of<T: Float>() -> Dtype {
    if size_of::<T>() == 4 { Dtype::F32 } else { Dtype::F64 }
}

impl Checkpoint {
    /// An empty checkpoint.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores `tensor` under `name` (replacing any earlier entry).
    pub fn insert<T: Float>(&mut self, name: &str, tensor: &Tensor<T>) {
        let values = tensor.to_vec();
        let bytes = if size_of::<T>() == 4 {
            values.iter().flat_map(|v| (v.as_f64() as f32).to_le_bytes()).collect()
        } else {
            values.iter().flat_map(|v| v.as_f64().to_le_bytes()).collect()
        };
        self.entries.insert(name.to_string(), Entry { dtype: dtype_of::<T>(), shape: tensor.shape().to_vec(), bytes });
    }

    /// Stores integer counters (RNG positions, step counts) under `name`.
    pub fn insert_u64(&mut self, name: &str, values: &[u64]) {
        let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.entries.insert(name.to_string(), Entry { dtype: Dtype::U64, shape: vec![values.len()], bytes });
    }

    /// Sets a metadata string.
    pub fn set_metadata(&mut self, key: &str, value: &str) {
        self.metadata.insert(key.to_string(), value.to_string());
    }

    /// A metadata string.
    pub fn metadata(&self, key: &str) -> Option<&str> {
        self.metadata.get(key).map(String::as_str)
    }

    /// The metadata keys, sorted.
    pub fn metadata_keys(&self) -> impl Iterator<Item = &str> {
        self.metadata.keys().map(String::as_str)
    }

    /// The stored names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }

    /// Whether `name` is stored.
    pub fn contains(&self, name: &str) -> bool {
        self.entries.contains_key(name)
    }

    /// The shape and dtype name of `name`.
    pub fn describe(&self, name: &str) -> Option<(Vec<usize>, String)> {
        self.entries.get(name).map(|e| (e.shape.clone(), format!("{:?}", e.dtype)))
    }

    /// The tensor stored under `name`, which must hold elements of type `T`.
    ///
    /// # Errors
    /// [`NnError::Mismatch`] if it is missing or of another dtype.
    pub fn get<T: Float>(&self, name: &str) -> Result<Tensor<T>> {
        let e = self.entries.get(name).ok_or_else(|| mismatch(format!("missing `{name}`")))?;
        if e.dtype != dtype_of::<T>() {
            return Err(mismatch(format!("`{name}`: dtype {:?} in the file, {:?} expected", e.dtype, dtype_of::<T>())));
        }
        let values: Vec<T> = if e.dtype == Dtype::F32 {
            e.bytes.chunks_exact(4).map(|c| T::of(f32::from_le_bytes(c.try_into().expect("4 bytes")) as f64)).collect()
        } else {
            e.bytes.chunks_exact(8).map(|c| T::of(f64::from_le_bytes(c.try_into().expect("8 bytes")))).collect()
        };
        Ok(Tensor::from_vec(values, &e.shape).expect("safetensors checked the byte count"))
    }

    /// The counters stored under `name` by [`Checkpoint::insert_u64`].
    ///
    /// # Errors
    /// [`NnError::Mismatch`] if it is missing or not u64.
    pub fn get_u64(&self, name: &str) -> Result<Vec<u64>> {
        let e = self.entries.get(name).ok_or_else(|| mismatch(format!("missing `{name}`")))?;
        if e.dtype != Dtype::U64 {
            return Err(mismatch(format!("`{name}`: dtype {:?} in the file, U64 expected", e.dtype)));
        }
        Ok(e.bytes.chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes"))).collect())
    }

    /// Writes the safetensors file (to a temporary name first, then renamed,
    /// so a crash never leaves a half-written checkpoint under `path`).
    ///
    /// # Errors
    /// [`NnError::Io`] if it cannot be written.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let views = self
            .entries
            .iter()
            .map(|(name, e)| {
                let view = TensorView::new(e.dtype, e.shape.clone(), &e.bytes).expect("entries are consistent");
                (name.clone(), view)
            })
            .collect::<Vec<_>>();
        let mut metadata: HashMap<String, String> = self.metadata.clone().into_iter().collect();
        metadata.insert(CHECKSUMS.into(), self.checksums().to_string());
        let corrupt = |reason: String| NnError::Corrupt { path: path.to_path_buf(), reason };
        let mut bytes = safetensors::serialize(views, Some(metadata)).map_err(|e| corrupt(e.to_string()))?;
        sort_header(&mut bytes).map_err(corrupt)?;
        crate::write_atomic(path, &bytes).map_err(|source| NnError::Io { path: path.to_path_buf(), source })
    }

    /// Reads a safetensors file.
    ///
    /// # Errors
    /// [`NnError::Io`] if it cannot be read; [`NnError::Corrupt`] if it is
    /// truncated, its header is malformed, or it holds a dtype gradus does
    /// not store (only F32, F64 and U64).
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| NnError::Io { path: path.to_path_buf(), source })?;
        Self::from_bytes(&bytes, path)
    }

    /// Reads a safetensors file's bytes; `path` names it in errors.
    ///
    /// # Errors
    /// [`NnError::Corrupt`] as [`Checkpoint::load`].
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Self> {
        let corrupt = |reason: String| NnError::Corrupt { path: path.to_path_buf(), reason };
        let (_, header) = SafeTensors::read_metadata(bytes).map_err(|e| corrupt(e.to_string()))?;
        let st = SafeTensors::deserialize(bytes).map_err(|e| corrupt(e.to_string()))?;
        let mut entries = BTreeMap::new();
        for (name, view) in st.tensors() {
            if !matches!(view.dtype(), Dtype::F32 | Dtype::F64 | Dtype::U64) {
                return Err(corrupt(format!("`{name}` has dtype {:?}; gradus reads F32, F64 and U64", view.dtype())));
            }
            entries
                .insert(name, Entry { dtype: view.dtype(), shape: view.shape().to_vec(), bytes: view.data().to_vec() });
        }
        let metadata: BTreeMap<String, String> = header.metadata().clone().unwrap_or_default().into_iter().collect();
        let loaded = Self { entries, metadata };
        if let Some(text) = loaded.metadata.get(CHECKSUMS) {
            loaded.verify(text).map_err(corrupt)?;
        }
        Ok(loaded)
    }

    /// Each tensor's CRC-32 (of its little-endian bytes), by name.
    fn checksums(&self) -> serde_json::Value {
        let map =
            self.entries.iter().map(|(name, e)| (name.clone(), format!("{:08x}", crc32fast::hash(&e.bytes)).into()));
        serde_json::Value::Object(map.collect())
    }

    /// Checks the tensors against the checksums saved with them.
    fn verify(&self, text: &str) -> std::result::Result<(), String> {
        let saved: BTreeMap<String, String> = serde_json::from_str(text)
            .map_err(|e| format!("metadata `{CHECKSUMS}` is not a name → checksum map: {e}"))?;
        let now = self.checksums();
        for name in self.entries.keys() {
            match saved.get(name) {
                None => return Err(format!("`{name}` has no checksum: the file was changed after it was written")),
                Some(c) if Some(c.as_str()) != now[name].as_str() => {
                    return Err(format!(
                        "`{name}` does not match its checksum (saved {c}, now {}): its bytes were changed after the file was written",
                        now[name].as_str().unwrap_or("?")
                    ));
                }
                Some(_) => {}
            }
        }
        if let Some(name) = saved.keys().find(|n| !self.entries.contains_key(*n)) {
            return Err(format!("`{name}` was written but is missing"));
        }
        Ok(())
    }
}

/// The metadata key of the tensors' checksums. Files without it (written by
/// PyTorch or candle) load unchecked.
const CHECKSUMS: &str = "gradus.crc32";

fn mismatch(line: String) -> NnError {
    NnError::Mismatch { mismatches: vec![line] }
}

/// Rewrites a serialised file's JSON header with its keys in sorted order
/// (the same length, so every offset stays): safetensors writes the metadata
/// map in hash order, which differs between processes, and a run and its
/// resumed twin must end with the same bytes.
fn sort_header(bytes: &mut [u8]) -> std::result::Result<(), String> {
    let n = u64::from_le_bytes(bytes[..8].try_into().map_err(|_| "no header length")?) as usize;
    let header = bytes.get(8..8 + n).ok_or("header past the end")?;
    let value: serde_json::Value = serde_json::from_slice(header).map_err(|e| e.to_string())?;
    // serde_json's map is a BTreeMap: keys come out sorted.
    let mut sorted = serde_json::to_vec(&value).map_err(|e| e.to_string())?;
    if sorted.len() > n {
        return Err(format!("sorted header of {} bytes does not fit {n}", sorted.len()));
    }
    sorted.resize(n, b' ');
    bytes[8..8 + n].copy_from_slice(&sorted);
    Ok(())
}

/// Writes every parameter and buffer of `model` into `checkpoint`, each
/// under `prefix` + its dotted name.
pub fn store<T: Float>(model: &dyn Module<T>, checkpoint: &mut Checkpoint, prefix: &str) {
    crate::Visitor::new(&mut |name, slot| {
        let name = format!("{prefix}{name}");
        match slot {
            Slot::Param(p) => checkpoint.insert(&name, &p.value()),
            Slot::Buffer(b) => checkpoint.insert(&name, &b.value()),
            Slot::Counter(c) => checkpoint.insert_u64(&name, &[c.get()]),
        }
    })
    .module(model);
}

/// Sets every parameter and buffer of `model` from `checkpoint` (names under
/// `prefix`), after checking all of them: nothing changes unless everything
/// fits.
///
/// # Errors
/// [`NnError::Mismatch`] listing every missing name, unexpected name (under
/// `prefix`), wrong shape and wrong dtype.
pub fn restore<T: Float>(model: &dyn Module<T>, checkpoint: &Checkpoint, prefix: &str) -> Result<()> {
    let mut problems = Vec::new();
    let mut updates = Vec::new();
    let mut counters = Vec::new();
    let mut expected = Vec::new();
    crate::Visitor::new(&mut |name, slot| {
        let full = format!("{prefix}{name}");
        expected.push(full.clone());
        let shape = match &slot {
            Slot::Param(p) => p.shape(),
            Slot::Buffer(b) => b.shape(),
            Slot::Counter(c) => {
                match checkpoint.get_u64(&full) {
                    Ok(v) if v.len() == 1 => counters.push((*c, v[0])),
                    Ok(v) => problems.push(format!("`{full}`: {} values, a counter holds 1", v.len())),
                    Err(NnError::Mismatch { mismatches }) => problems.extend(mismatches),
                    Err(other) => problems.push(other.to_string()),
                }
                return;
            }
        };
        match checkpoint.entries.get(&full) {
            None => problems.push(format!("missing `{full}` (shape {shape:?})")),
            Some(e) if e.shape != shape => {
                problems.push(format!("`{full}`: shape {:?} in the file, {shape:?} in the model", e.shape))
            }
            Some(_) => match checkpoint.get::<T>(&full) {
                Ok(t) => updates.push((slot, t)),
                Err(NnError::Mismatch { mismatches }) => problems.extend(mismatches),
                Err(other) => problems.push(other.to_string()),
            },
        }
    })
    .module(model);
    for name in checkpoint.names().filter(|n| n.starts_with(prefix)) {
        if !expected.iter().any(|e| e == name) {
            problems.push(format!("unexpected `{name}` (not in the model)"));
        }
    }
    if !problems.is_empty() {
        return Err(NnError::Mismatch { mismatches: problems });
    }
    for (slot, value) in updates {
        match slot {
            Slot::Param(p) => p.set(value),
            Slot::Buffer(b) => b.set(value),
            Slot::Counter(_) => {} // counters never enter `updates`: restored below
        }
    }
    for (cell, value) in counters {
        cell.set(value);
    }
    Ok(())
}

/// Saves `model`'s parameters and buffers to a safetensors file, named as
/// PyTorch's `state_dict` names them.
///
/// # Errors
/// [`NnError::Io`] if the file cannot be written.
pub fn save<T: Float>(model: &dyn Module<T>, path: impl AsRef<Path>) -> Result<()> {
    let mut checkpoint = Checkpoint::new();
    store(model, &mut checkpoint, "");
    checkpoint.save(path)
}

/// Loads `model`'s parameters and buffers from a file written by [`save`]
/// (or by PyTorch's `safetensors.torch.save_file(model.state_dict())` in the
/// same dtype); the model is unchanged on any error.
///
/// # Errors
/// [`NnError::Io`], [`NnError::Corrupt`], or [`NnError::Mismatch`] listing
/// every difference between the file and the model.
pub fn load<T: Float>(model: &dyn Module<T>, path: impl AsRef<Path>) -> Result<()> {
    restore(model, &Checkpoint::load(path)?, "")
}
