//! `gradus summary`: every module of a model with its checkpoint name,
//! output shape, parameter count and multiply-adds per example, as
//! torchinfo reports them for the same PyTorch module.

use gradus_autodiff::{Tape, Var, no_grad};
use gradus_nn::{Module, Observer};
use gradus_tensor::{Float, Tensor};
use std::collections::HashMap;

/// One module's line.
#[derive(Clone, Debug, PartialEq)]
pub struct SummaryRow {
    /// Its name as the checkpoint names its tensors' prefix (`3.body.0`).
    pub name: String,
    /// Its type (`Conv2d`).
    pub kind: String,
    /// How deep it sits: 1 for the model's own items.
    pub depth: usize,
    /// Its output shape for one example (no batch axis).
    pub output: Vec<usize>,
    /// The parameters in it, its children's included.
    pub params: usize,
    /// Multiply-adds per example through its own parameters
    /// ([`Module::multiply_adds`]); 0 for a container.
    pub multiply_adds: f64,
}

/// A model's summary: its rows in declaration order, then the totals.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    /// The input shape of one example.
    pub input: Vec<usize>,
    /// Every module inside the model, containers before their children.
    pub rows: Vec<SummaryRow>,
    /// The model's output shape for one example.
    pub output: Vec<usize>,
    /// Every parameter.
    pub total_params: usize,
    /// The parameters that are not frozen.
    pub trainable_params: usize,
    /// Multiply-adds per example, over the modules without children.
    pub multiply_adds: f64,
}

/// The type's name without its path and generics.
fn short_type(full: &str) -> String {
    let head = full.split('<').next().unwrap_or(full);
    head.rsplit("::").next().unwrap_or(head).to_string()
}

fn preorder<'a, T: Float>(
    m: &'a dyn Module<T>,
    prefix: &str,
    depth: usize,
    out: &mut Vec<(String, usize, &'a dyn Module<T>)>,
) {
    for (name, child) in m.children() {
        let full = format!("{prefix}{name}");
        out.push((full.clone(), depth, child));
        preorder(child, &format!("{full}."), depth + 1, out);
    }
}

impl Summary {
    /// The summary of `model` for one example of shape `input` (`[1, 28,
    /// 28]`): one forward pass of that example in evaluation mode (the
    /// model's mode restored afterwards), nothing recorded.
    ///
    /// ```
    /// use gradus::models::{ModelSpec, Summary};
    /// let spec = ModelSpec::parse("seq(conv2d(1, 8, 3, padding=1), relu, flatten, linear(6272, 10))").unwrap();
    /// let s = Summary::of(&spec.build::<f32>(0), &[1, 28, 28]).unwrap();
    /// assert_eq!(s.rows[0].output, [8, 28, 28]);
    /// assert_eq!(s.total_params, 80 + 62_730);
    /// // The convolution's 80 parameters at 784 positions, the linear layer's once.
    /// assert_eq!(s.multiply_adds, 80.0 * 784.0 + 62_730.0);
    /// ```
    ///
    /// # Errors
    /// When the model does not fit the input: the message of the first
    /// layer that does not.
    pub fn of<T: Float>(model: &dyn Module<T>, input: &[usize]) -> Result<Summary, String> {
        let mut batch = vec![1];
        batch.extend(input);
        let mode = model.training();
        model.eval();
        if let Some(Err(e)) = model.output_shape(&batch) {
            if let Some(m) = mode {
                model.set_training(m);
            }
            return Err(e.replace("[1, ", "[N, "));
        }
        let mut outputs: HashMap<String, Vec<usize>> = HashMap::new();
        let y = no_grad(|| {
            model.forward_observed(
                &Tape::new(),
                &Var::constant(Tensor::<T>::zeros(&batch)),
                &mut Observer::new(&mut |name, _, y| {
                    outputs.insert(name.to_string(), y.shape()[1..].to_vec());
                }),
            )
        });
        if let Some(m) = mode {
            model.set_training(m);
        }
        let mut modules = Vec::new();
        preorder(model, "", 1, &mut modules);
        let rows: Vec<SummaryRow> = modules
            .into_iter()
            .map(|(name, depth, m)| {
                let output = outputs.get(&name).cloned().unwrap_or_default();
                let leaf = m.children().is_empty();
                SummaryRow {
                    kind: short_type(m.type_key()),
                    depth,
                    params: m.num_parameters(),
                    multiply_adds: if leaf { m.multiply_adds(&output) } else { 0.0 },
                    output,
                    name,
                }
            })
            .collect();
        Ok(Summary {
            input: input.to_vec(),
            multiply_adds: rows.iter().map(|r| r.multiply_adds).sum::<f64>() + own_only(model, &y.shape()[1..]),
            output: y.shape()[1..].to_vec(),
            total_params: model.num_parameters(),
            trainable_params: model.num_trainable_parameters(),
            rows,
        })
    }

    /// A table: name, type, output shape, parameters, multiply-adds; then
    /// the totals.
    pub fn to_text(&self) -> String {
        let shape = |s: &[usize]| format!("{s:?}");
        let mut out = format!("{:<28} {:<20} {:<18} {:>12} {:>14}\n", "name", "type", "output", "params", "mult-adds");
        for r in &self.rows {
            let name = format!("{}{}", "  ".repeat(r.depth - 1), r.name);
            out += &format!(
                "{name:<28} {:<20} {:<18} {:>12} {:>14}\n",
                r.kind,
                shape(&r.output),
                r.params,
                r.multiply_adds
            );
        }
        out += &format!("input {}, output {}\n", shape(&self.input), shape(&self.output));
        out += &format!("total params: {}\ntrainable params: {}\n", self.total_params, self.trainable_params);
        out += &format!("mult-adds per example: {}\n", self.multiply_adds);
        out
    }
}

/// The multiply-adds of a model that is itself a leaf (a single layer).
fn own_only<T: Float>(model: &dyn Module<T>, output: &[usize]) -> f64 {
    if model.children().is_empty() { model.multiply_adds(output) } else { 0.0 }
}
