//! The opt-in download of Fashion-MNIST and MNIST over HTTP into a cache
//! directory: streamed to a `.part` file with a progress bar, checked
//! against the MD5 checksums the datasets publish, and only then renamed
//! into place. A partial or corrupt download is reported and never used.

use crate::error::{DataError, Result};
use crate::mnist::Mnist;
use indicatif::{ProgressBar, ProgressStyle};
use md5::{Digest, Md5};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// A file to fetch: its name under the base URL and its MD5 (lower-case hex).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Remote {
    /// File name, e.g. `train-images-idx3-ubyte.gz`.
    pub file: &'static str,
    /// Expected MD5, lower-case hex.
    pub md5: &'static str,
}

/// Where each dataset is published, and its files' checksums (from
/// Fashion-MNIST's README; MNIST's from torchvision's mirror list).
pub fn official(which: Mnist) -> (&'static str, [Remote; 4]) {
    match which {
        Mnist::Fashion => (
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
            [
                Remote { file: "train-images-idx3-ubyte.gz", md5: "8d4fb7e6c68d591d4c3dfef9ec88bf0d" },
                Remote { file: "train-labels-idx1-ubyte.gz", md5: "25c81989df183df01b3e8a0aad5dffbe" },
                Remote { file: "t10k-images-idx3-ubyte.gz", md5: "bef4ecab320f06d8554ea6380940ec79" },
                Remote { file: "t10k-labels-idx1-ubyte.gz", md5: "bb300cfdad3c16e7a12a480ee83cd310" },
            ],
        ),
        Mnist::Digits => (
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            [
                Remote { file: "train-images-idx3-ubyte.gz", md5: "f68b3c2dcbeaaa9fbdd348bbdeb94873" },
                Remote { file: "train-labels-idx1-ubyte.gz", md5: "d53e105ee54ea40749a09fcbcd1e9432" },
                Remote { file: "t10k-images-idx3-ubyte.gz", md5: "9fb629c4189551a2d022fa330f9573f3" },
                Remote { file: "t10k-labels-idx1-ubyte.gz", md5: "ec29112dd5afa0611ce80d1b7f02629c" },
            ],
        ),
    }
}

/// The MD5 of a file, lower-case hex.
///
/// # Errors
/// [`DataError::Io`] if it cannot be read.
pub fn md5_file(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|source| DataError::Io { path: path.to_path_buf(), source })?;
    Ok(format!("{:x}", Md5::digest(&bytes)))
}

/// Downloads `which` into `cache/<name>/` (files already there with the
/// right checksum are kept) and returns that directory, ready for
/// [`mnist::load`](crate::mnist::load). `base_url` replaces the official one
/// (a mirror, or a test server).
///
/// # Errors
/// [`DataError::Download`] for a network failure, an HTTP error or a short
/// body; [`DataError::Checksum`] for a file whose MD5 is wrong; the bad
/// file is removed either way.
pub fn download(which: Mnist, cache: &Path, base_url: Option<&str>) -> Result<PathBuf> {
    let (official_url, files) = official(which);
    let dir = cache.join(which.name());
    fetch_all(base_url.unwrap_or(official_url), &files, &dir)?;
    Ok(dir)
}

/// Fetches every file of `files` from `base_url` into `dir` (see [`download`]).
///
/// # Errors
/// As [`download`].
pub fn fetch_all(base_url: &str, files: &[Remote], dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|source| DataError::Io { path: dir.to_path_buf(), source })?;
    for remote in files {
        let target = dir.join(remote.file);
        if target.is_file() && md5_file(&target)? == remote.md5 {
            continue;
        }
        let url = format!("{}/{}", base_url.trim_end_matches('/'), remote.file);
        let part = dir.join(format!("{}.part", remote.file));
        let result = fetch(&url, &part).and_then(|got| {
            if got == remote.md5 {
                Ok(())
            } else {
                Err(DataError::Checksum { url: url.clone(), expected: remote.md5.to_string(), got })
            }
        });
        if let Err(e) = result {
            let _ = std::fs::remove_file(&part);
            return Err(e);
        }
        std::fs::rename(&part, &target).map_err(|source| DataError::Io { path: target.clone(), source })?;
    }
    Ok(())
}

/// Streams `url` into `path`, hashing as it goes; returns the MD5.
fn fetch(url: &str, path: &Path) -> Result<String> {
    let fail = |reason: String| DataError::Download { url: url.to_string(), reason };
    let mut response = ureq::get(url).call().map_err(|e| fail(e.to_string()))?;
    let total = response.headers().get("content-length").and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let bar = match total {
        Some(n) => ProgressBar::new(n),
        None => ProgressBar::no_length(),
    };
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    bar.set_message(url.rsplit('/').next().unwrap_or(url).to_string());
    let mut file = std::fs::File::create(path).map_err(|source| DataError::Io { path: path.to_path_buf(), source })?;
    let mut reader = response.body_mut().as_reader();
    let (mut hasher, mut buf, mut received) = (Md5::new(), vec![0u8; 1 << 16], 0u64);
    loop {
        let n = reader.read(&mut buf).map_err(|e| fail(format!("after {received} bytes: {e}")))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        file.write_all(&buf[..n]).map_err(|source| DataError::Io { path: path.to_path_buf(), source })?;
        received += n as u64;
        bar.set_position(received);
    }
    bar.finish_and_clear();
    if let Some(n) = total.filter(|&n| n != received) {
        return Err(fail(format!("received {received} of {n} bytes")));
    }
    Ok(format!("{:x}", hasher.finalize()))
}
