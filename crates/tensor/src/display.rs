//! `Display` and `Debug` that print like PyTorch: aligned columns, four
//! decimals or scientific notation as the values need, summarised with `...`
//! when the tensor has more than 1000 elements.

use crate::{Element, Tensor};
use std::fmt;

/// Tensors with more elements than this print only their edges.
const SUMMARY_THRESHOLD: usize = 1000;
/// Elements shown at each edge of a summarised axis.
const EDGE_ITEMS: usize = 3;
/// Rows longer than this wrap, as PyTorch's default `linewidth`.
const LINE_WIDTH: usize = 80;

/// The indices of one axis to print; `None` stands for the `...` gap.
fn shown(len: usize, summarise: bool) -> Vec<Option<usize>> {
    if summarise && len > 2 * EDGE_ITEMS {
        (0..EDGE_ITEMS).map(Some).chain([None]).chain((len - EDGE_ITEMS..len).map(Some)).collect()
    } else {
        (0..len).map(Some).collect()
    }
}

struct Printer<'a, T: Element> {
    tensor: &'a Tensor<T>,
    summarise: bool,
    precision: usize,
    scientific: bool,
    width: usize,
}

impl<T: Element> Printer<'_, T> {
    fn new(tensor: &Tensor<T>) -> Printer<'_, T> {
        let summarise = tensor.numel() > SUMMARY_THRESHOLD;
        let mut visible = Vec::new();
        collect(tensor, summarise, &mut vec![], &mut visible);
        let (precision, scientific) = T::print_style(&visible);
        let width = visible.iter().map(|v| v.format_value(precision, scientific).len()).max().unwrap_or(0);
        Printer { tensor, summarise, precision, scientific, width }
    }

    fn write(&self, out: &mut String, index: &mut Vec<usize>, indent: usize) {
        let axis = index.len();
        if axis == self.tensor.rank() {
            let text = self.tensor.get(index).format_value(self.precision, self.scientific);
            out.push_str(&format!("{text:>width$}", width = self.width));
            return;
        }
        out.push('[');
        let last_axis = axis + 1 == self.tensor.rank();
        let items = shown(self.tensor.shape()[axis], self.summarise);
        for (n, item) in items.iter().enumerate() {
            if n > 0 {
                out.push(',');
                if last_axis {
                    // Wrap a long row, continuing under its first element.
                    let line_len = out.len() - out.rfind('\n').map_or(0, |i| i + 1);
                    if line_len + 1 + self.width + 2 > LINE_WIDTH {
                        out.push('\n');
                        out.push_str(&" ".repeat(indent + 1));
                    } else {
                        out.push(' ');
                    }
                } else {
                    let blank_lines = self.tensor.rank() - axis - 1;
                    out.push_str(&"\n".repeat(blank_lines));
                    out.push_str(&" ".repeat(indent + 1));
                }
            }
            match item {
                Some(i) => {
                    index.push(*i);
                    self.write(out, index, indent + 1);
                    index.pop();
                }
                None => out.push_str("..."),
            }
        }
        out.push(']');
    }
}

fn collect<T: Element>(t: &Tensor<T>, summarise: bool, index: &mut Vec<usize>, out: &mut Vec<T>) {
    if index.len() == t.rank() {
        out.push(t.get(index));
        return;
    }
    for i in shown(t.shape()[index.len()], summarise).into_iter().flatten() {
        index.push(i);
        collect(t, summarise, index, out);
        index.pop();
    }
}

impl<T: Element> fmt::Display for Tensor<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::from("tensor(");
        Printer::new(self).write(&mut out, &mut vec![], "tensor(".len());
        out.push(')');
        f.write_str(&out)
    }
}

impl<T: Element> fmt::Debug for Tensor<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::from("tensor(");
        Printer::new(self).write(&mut out, &mut vec![], "tensor(".len());
        write!(f, "{out}, shape={:?}, dtype={})", self.shape(), T::DTYPE)
    }
}

#[cfg(test)]
mod tests {
    use crate::Tensor;

    #[test]
    fn prints_aligned_like_pytorch() {
        let t = Tensor::from_vec(vec![1.0f32, -2.5, 3.0, 40.0], &[2, 2]).unwrap();
        assert_eq!(t.to_string(), "tensor([[ 1.0000, -2.5000],\n        [ 3.0000, 40.0000]])");
        let i = Tensor::from_vec(vec![1.0f64, 2.0], &[2]).unwrap();
        assert_eq!(format!("{i:?}"), "tensor([1., 2.], shape=[2], dtype=f64)");
        assert_eq!(Tensor::scalar(0.5f32).to_string(), "tensor(0.5000)");
        let small = Tensor::from_vec(vec![1e-6f64, 1.0], &[2]).unwrap();
        assert_eq!(small.to_string(), "tensor([1.0000e-06, 1.0000e+00])");
        let mask = Tensor::from_vec(vec![true, false], &[2]).unwrap();
        assert_eq!(mask.to_string(), "tensor([ true, false])");
    }

    #[test]
    fn wraps_long_rows_at_80_columns() {
        let t = Tensor::<f32>::arange(0.0, 40.0, 1.0).unwrap().reshape(&[2, 20]) / 4.0;
        let text = t.to_string();
        assert!(text.lines().all(|l| l.len() <= 80), "{text}");
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("tensor([[0.0000, 0.2500,"), "{text}");
        assert!(lines[1].starts_with("         2.0000,"), "continuation aligns under the first element: {text}");
        assert_eq!(lines.len(), 6, "{text}");
    }

    #[test]
    fn summarises_large_tensors() {
        let t = Tensor::<f32>::arange(0.0, 2000.0, 1.0).unwrap();
        assert_eq!(t.to_string(), "tensor([   0.,    1.,    2., ..., 1997., 1998., 1999.])");
        let m = Tensor::<f32>::zeros(&[100, 100]).to_string();
        assert_eq!(m.lines().count(), 7, "{m}");
    }
}
