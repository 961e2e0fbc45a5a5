//! CSV with a header: numeric feature columns and one target column.

use crate::dataset::{Features, InMemory, Targets};
use crate::error::{DataError, Result};
use std::path::Path;

/// How the target column is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CsvTarget {
    /// Class indices (non-negative integers).
    Class,
    /// A real value (regression).
    Value,
}

/// Reads a CSV file whose first line names the columns: every column but
/// `target` is a numeric feature. Fields may be quoted; blank lines are
/// skipped.
///
/// # Errors
/// [`DataError::Io`]; [`DataError::Csv`] with the line number for a row with
/// the wrong number of fields, a field that is not a number, or a class
/// that is not a non-negative integer; [`DataError::Format`] for a missing
/// target column or an empty file.
pub fn read_csv(path: impl AsRef<Path>, target: &str, kind: CsvTarget) -> Result<InMemory> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|source| DataError::Io { path: path.to_path_buf(), source })?;
    parse_csv(&text, target, kind).map_err(|(line, reason)| match line {
        0 => DataError::Format { path: path.to_path_buf(), reason },
        line => DataError::Csv { path: path.to_path_buf(), line, reason },
    })
}

fn field(s: &str) -> &str {
    let s = s.trim();
    s.strip_prefix('"').and_then(|s| s.strip_suffix('"')).unwrap_or(s)
}

/// Parses CSV text (see [`read_csv`]); errors carry the 1-based line (0 for
/// the file as a whole).
///
/// # Errors
/// As [`read_csv`].
pub fn parse_csv(text: &str, target: &str, kind: CsvTarget) -> std::result::Result<InMemory, (usize, String)> {
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let (_, header) = lines.next().ok_or((0, "empty file: no header".to_string()))?;
    let names: Vec<&str> = header.split(',').map(field).collect();
    let t = names
        .iter()
        .position(|n| *n == target)
        .ok_or_else(|| (0, format!("no column `{target}`; columns: {}", names.join(", "))))?;
    let (mut features, mut classes, mut values) = (Vec::new(), Vec::new(), Vec::new());
    for (i, line) in lines {
        let line_no = i + 1;
        let fields: Vec<&str> = line.split(',').map(field).collect();
        if fields.len() != names.len() {
            return Err((line_no, format!("{} fields, the header has {}", fields.len(), names.len())));
        }
        for (j, f) in fields.iter().enumerate() {
            let x: f64 = f.parse().map_err(|_| (line_no, format!("column `{}`: `{f}` is not a number", names[j])))?;
            if !x.is_finite() {
                return Err((line_no, format!("column `{}`: `{f}` is not finite", names[j])));
            }
            if j != t {
                features.push(x);
            } else if kind == CsvTarget::Class {
                if x < 0.0 || x.fract() != 0.0 {
                    return Err((line_no, format!("column `{target}`: `{f}` is not a class index")));
                }
                classes.push(x as usize);
            } else {
                values.push(x);
            }
        }
    }
    let targets = match kind {
        CsvTarget::Class => Targets::Classes(classes),
        CsvTarget::Value => Targets::Values { data: values, width: 1 },
    };
    InMemory::new(Features::F64(features), vec![names.len() - 1], targets).map_err(|e| (0, e.to_string()))
}
