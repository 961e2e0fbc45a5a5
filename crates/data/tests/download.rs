//! The dataset download against a local HTTP server on 127.0.0.1 serving
//! files this test makes: good files, a corrupt one, a truncated one, a
//! missing one. (No internet is needed or used.)

use gradus_data::download::{Remote, fetch_all, md5_file};
use gradus_data::{DataError, Dataset, mnist, write_idx_u8};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// How the server answers a path.
#[derive(Clone)]
enum Reply {
    Ok(Vec<u8>),
    /// Declares more bytes than it sends, then closes.
    Truncated(Vec<u8>),
}

struct Server {
    url: String,
    routes: Arc<Mutex<HashMap<String, Reply>>>,
    requests: Arc<AtomicUsize>,
}

fn serve() -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let routes: Arc<Mutex<HashMap<String, Reply>>> = Arc::default();
    let requests = Arc::new(AtomicUsize::new(0));
    let (r, n) = (Arc::clone(&routes), Arc::clone(&requests));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
                    break;
                }
            }
            n.fetch_add(1, Ordering::SeqCst);
            let reply = r.lock().unwrap().get(&path).cloned();
            let _ = match reply {
                Some(Reply::Ok(body)) => {
                    let head =
                        format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
                    stream.write_all(head.as_bytes()).and_then(|_| stream.write_all(&body))
                }
                Some(Reply::Truncated(body)) => {
                    let head =
                        format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len() + 100);
                    stream.write_all(head.as_bytes()).and_then(|_| stream.write_all(&body))
                }
                None => stream.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
            };
        }
    });
    Server { url, routes, requests }
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gradus-download-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The four files of a small MNIST-shaped dataset, with their MD5s.
fn fake_files(tag: &str) -> Vec<(&'static str, Vec<u8>, String)> {
    let images = |n: usize| gz(&write_idx_u8(&[n, 28, 28], &vec![3u8; n * 784]));
    let labels = |n: usize| gz(&write_idx_u8(&[n], &(0..n).map(|i| (i % 10) as u8).collect::<Vec<_>>()));
    let scratch = temp(&format!("md5-{tag}"));
    [
        ("train-images-idx3-ubyte.gz", images(30)),
        ("train-labels-idx1-ubyte.gz", labels(30)),
        ("t10k-images-idx3-ubyte.gz", images(10)),
        ("t10k-labels-idx1-ubyte.gz", labels(10)),
    ]
    .into_iter()
    .map(|(name, bytes)| {
        let p = scratch.join(name);
        std::fs::write(&p, &bytes).unwrap();
        let md5 = md5_file(&p).unwrap();
        (name, bytes, md5)
    })
    .collect()
}

fn remotes(files: &[(&'static str, Vec<u8>, String)]) -> Vec<Remote> {
    files.iter().map(|(name, _, md5)| Remote { file: name, md5: Box::leak(md5.clone().into_boxed_str()) }).collect()
}

#[test]
fn a_good_download_is_verified_kept_and_not_fetched_twice() {
    let server = serve();
    let files = fake_files("good");
    for (name, bytes, _) in &files {
        server.routes.lock().unwrap().insert(format!("/{name}"), Reply::Ok(bytes.clone()));
    }
    let dir = temp("good");
    fetch_all(&server.url, &remotes(&files), &dir).unwrap();
    assert_eq!(server.requests.load(Ordering::SeqCst), 4);
    let (train, test) = mnist::load(mnist::Mnist::Digits, Some(&dir)).unwrap();
    assert_eq!((train.len(), test.len()), (30, 10));
    fetch_all(&server.url, &remotes(&files), &dir).unwrap();
    assert_eq!(server.requests.load(Ordering::SeqCst), 4, "cached files are not fetched again");
}

#[test]
fn corrupt_truncated_and_missing_files_are_reported_and_never_kept() {
    let server = serve();
    let files = fake_files("bad");
    let remotes = remotes(&files);
    let (name, bytes, _) = &files[0];
    let mut corrupt = bytes.clone();
    corrupt[20] ^= 0xff;
    server.routes.lock().unwrap().insert(format!("/{name}"), Reply::Ok(corrupt));
    let dir = temp("bad");
    let err = fetch_all(&server.url, &remotes[..1], &dir).unwrap_err();
    assert!(matches!(err, DataError::Checksum { .. }), "{err}");
    assert!(err.to_string().contains("is corrupt: MD5"), "{err}");
    let leftovers: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert!(leftovers.is_empty(), "nothing may be left behind: {leftovers:?}");

    server.routes.lock().unwrap().insert(format!("/{name}"), Reply::Truncated(bytes[..bytes.len() / 2].to_vec()));
    let err = fetch_all(&server.url, &remotes[..1], &dir).unwrap_err();
    assert!(matches!(err, DataError::Download { .. }), "{err}");
    assert!(std::fs::read_dir(&dir).unwrap().next().is_none());

    let err = fetch_all(&server.url, &remotes[1..2], &dir).unwrap_err().to_string();
    assert!(err.starts_with(&format!("download of {}/train-labels-idx1-ubyte.gz failed", server.url)), "{err}");
    assert!(err.contains("404"), "{err}");
    // A file damaged after a good download is fetched again.
    server.routes.lock().unwrap().insert(format!("/{name}"), Reply::Ok(bytes.clone()));
    std::fs::write(dir.join(name), b"damaged").unwrap();
    fetch_all(&server.url, &remotes[..1], &dir).unwrap();
    assert_eq!(&std::fs::read(dir.join(name)).unwrap(), bytes);
}
