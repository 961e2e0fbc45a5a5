//! Fashion-MNIST and MNIST from their IDX files, found in an explicit
//! directory, `$GRADUS_DATA`, `./data`, or where Debian installs them.

use crate::dataset::{Features, InMemory, Targets};
use crate::error::{DataError, Result};
use crate::idx::{IdxData, read_idx};
use std::path::{Path, PathBuf};

/// Which dataset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mnist {
    /// Zalando's Fashion-MNIST (10 kinds of clothing).
    Fashion,
    /// LeCun's handwritten digits.
    Digits,
}

impl Mnist {
    /// Its name, also the sub-directory searched.
    pub fn name(self) -> &'static str {
        match self {
            Mnist::Fashion => "fashion-mnist",
            Mnist::Digits => "mnist",
        }
    }

    /// The class names.
    pub fn classes(self) -> [&'static str; 10] {
        match self {
            Mnist::Fashion => [
                "T-shirt/top",
                "Trouser",
                "Pullover",
                "Dress",
                "Coat",
                "Sandal",
                "Shirt",
                "Sneaker",
                "Bag",
                "Ankle boot",
            ],
            Mnist::Digits => ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
        }
    }
}

const FILES: [&str; 4] =
    ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"];

/// The directories searched, in order: `dir` if given (alone: an explicit
/// directory is never second-guessed), else `$GRADUS_DATA` and
/// `$GRADUS_DATA/<name>`, `./data` and `./data/<name>`, and
/// `/usr/share/datasets/<name>` (Debian's `dataset-fashion-mnist`).
pub fn search_path(which: Mnist, dir: Option<&Path>) -> Vec<PathBuf> {
    if let Some(d) = dir {
        return vec![d.to_path_buf()];
    }
    let mut out = Vec::new();
    if let Some(env) = std::env::var_os("GRADUS_DATA") {
        let env = PathBuf::from(env);
        out.push(env.join(which.name()));
        out.push(env);
    }
    out.push(PathBuf::from("data").join(which.name()));
    out.push(PathBuf::from("data"));
    out.push(PathBuf::from("/usr/share/datasets").join(which.name()));
    out
}

/// `dir/file` or `dir/file.gz`, whichever exists.
fn find_file(dir: &Path, file: &str) -> Option<PathBuf> {
    [dir.join(file), dir.join(format!("{file}.gz"))].into_iter().find(|p| p.is_file())
}

/// The directory holding all four files.
///
/// # Errors
/// [`DataError::NotFound`] listing every directory tried.
pub fn locate(which: Mnist, dir: Option<&Path>) -> Result<PathBuf> {
    let searched = search_path(which, dir);
    if let Some(d) = searched.iter().find(|d| FILES.iter().all(|f| find_file(d, f).is_some())) {
        return Ok(d.clone());
    }
    let missing = searched
        .iter()
        .map(|d| {
            let lacks: Vec<String> =
                FILES.iter().filter(|f| find_file(d, f).is_none()).map(|f| format!("{f}(.gz)")).collect();
            format!("{} lacks {}", d.display(), lacks.join(", "))
        })
        .collect();
    Err(DataError::NotFound { dataset: which.name(), searched, missing })
}

fn load_pair(dir: &Path, images: &str, labels: &str) -> Result<InMemory> {
    let ipath = find_file(dir, images).expect("located");
    let lpath = find_file(dir, labels).expect("located");
    let (img, lab) = (read_idx(&ipath)?, read_idx(&lpath)?);
    let bad = |path: &Path, reason: String| DataError::Format { path: path.to_path_buf(), reason };
    let IdxData::U8(pixels) = img.data else {
        return Err(bad(&ipath, "images must be unsigned bytes (type 0x08)".into()));
    };
    let IdxData::U8(labels) = lab.data else {
        return Err(bad(&lpath, "labels must be unsigned bytes (type 0x08)".into()));
    };
    if img.shape.len() != 3 {
        return Err(bad(&ipath, format!("images must have 3 dimensions, got {:?}", img.shape)));
    }
    if lab.shape.len() != 1 || lab.shape[0] != img.shape[0] {
        return Err(bad(&lpath, format!("labels of shape {:?} for {} images", lab.shape, img.shape[0])));
    }
    if let Some(l) = labels.iter().find(|&&l| l > 9) {
        return Err(bad(&lpath, format!("label {l} is not a class 0–9")));
    }
    let classes = labels.iter().map(|&l| l as usize).collect();
    InMemory::new(Features::U8(pixels), img.shape[1..].to_vec(), Targets::Classes(classes))
}

/// The training and test sets (60 000 and 10 000 images of 28×28 bytes,
/// class targets), from the first directory of [`search_path`] holding all
/// four files (raw or `.gz`).
///
/// # Errors
/// [`DataError::NotFound`], or a read or format error naming the file.
pub fn load(which: Mnist, dir: Option<&Path>) -> Result<(InMemory, InMemory)> {
    let dir = locate(which, dir)?;
    Ok((load_pair(&dir, FILES[0], FILES[1])?, load_pair(&dir, FILES[2], FILES[3])?))
}
