//! Models from spec strings, as the command line and the demo take them:
//! `mlp(784, 256, 10, act=relu, dropout=0.2, batch_norm=false)`, and
//! `seq(item, item, …)`, a `torch.nn.Sequential` of layers named as
//! PyTorch's (`conv2d(1, 32, 3, padding=1)`, `maxpool2d(2)`, `flatten`,
//! `linear(1600, 128)`, `relu`, …; see [`ModelSpec::parse`]).
//!
//! ```
//! use gradus::models::ModelSpec;
//!
//! let spec = ModelSpec::parse("seq(conv2d(1, 8, 3), relu, maxpool2d(2), flatten, linear(1352, 10))").unwrap();
//! assert_eq!(spec.input_shape(&[28, 28]), vec![1, 28, 28]);
//! let model = spec.build::<f32>(0);
//! // Values the layers output per example: 2 × 8·26·26 (conv, relu), 8·13·13
//! // (the pool; flatten is a view of it) and 10.
//! assert_eq!(spec.check(&model, &[28, 28], 10), Ok(2.0 * 5408.0 + 1352.0 + 10.0));
//! let narrow = ModelSpec::parse("seq(conv2d(1, 8, 3), flatten, linear(5408, 5))").unwrap();
//! let err = narrow.check(&narrow.build::<f32>(0), &[28, 28], 10).unwrap_err();
//! assert!(err.contains("5 outputs") && err.contains("10 classes"), "{err}");
//! ```

use gradus_nn::{Mlp, Module, Sequential};
use gradus_spec::{Spec, SpecError, Value};
use gradus_tensor::Float;
use rand::SeedableRng;
use rand::rngs::StdRng;

mod activation;
mod args;
mod attention;
mod conv;
mod items;
mod nest;
mod norm;
mod pool;
mod sequence;
mod summary;
#[cfg(test)]
mod tests;

pub use items::item_names;
pub use summary::{Summary, SummaryRow};

use args::err;
use nest::SeqItem;

/// A model spec, parsed and checked.
#[derive(Clone, Debug)]
pub struct ModelSpec {
    text: String,
    kind: Kind,
}

#[derive(Clone, Debug)]
enum Kind {
    Mlp(Mlp),
    Seq(std::sync::Arc<SeqItem>),
}

impl PartialEq for ModelSpec {
    /// Two specs are equal when they parse to the same items (whatever
    /// their spelling: keys or positions).
    fn eq(&self, other: &Self) -> bool {
        format!("{:?}", self.kind) == format!("{:?}", other.kind)
    }
}

impl ModelSpec {
    /// Parses `mlp(sizes…, act=<activation>, dropout=<p>, batch_norm=<bool>)`
    /// or `seq(item, …)`. Items take PyTorch's argument names and
    /// defaults, positionally or by key; a number or a pair `(h, w)` where
    /// PyTorch takes either:
    ///
    /// `linear(in, out, bias=true)`; `conv1d`/`conv2d(in, out, kernel,
    /// stride=1, padding=0|same|valid, dilation=1, groups=1, bias=true,
    /// padding_mode=zeros|reflect|replicate|circular)`;
    /// `conv_transpose2d(in, out, kernel, stride, padding, output_padding,
    /// groups, bias, dilation)`; `maxpool2d(kernel, stride=kernel,
    /// padding=0, dilation=1, ceil_mode=false)`; `avgpool2d(kernel,
    /// stride=kernel, padding=0, ceil_mode=false, count_include_pad=true,
    /// divisor_override)`; `adaptive_avgpool2d(size)`,
    /// `adaptive_maxpool2d(size)`; `batchnorm1d(n, eps=1e-5,
    /// momentum=0.1)`, `batchnorm2d(c, …)`; `dropout(p=0.5)`,
    /// `dropout2d(p=0.5)`; `flatten(start_dim=1)`; activations `relu`,
    /// `leaky_relu(negative_slope)`, `prelu(num_parameters, init)`,
    /// `sigmoid`, `tanh`, `silu`, `gelu(approximate=none|tanh)`,
    /// `elu(alpha)`, `selu`, `softplus(beta, threshold)`, `mish`; for
    /// sequences `reshape(d…)`, `embedding(num_embeddings, embedding_dim,
    /// padding_idx=none)`, `pos_embedding(max_len, dim)`,
    /// `attention(embed_dim, num_heads, dropout=0, bias=true,
    /// causal=false)`, `transformer(d_model, nhead, dim_feedforward=2048,
    /// dropout=0.1, activation=relu|gelu, layer_norm_eps=1e-5,
    /// norm_first=false, bias=true, causal=false)`, `lstm`/`gru(input_size,
    /// hidden_size, num_layers=1, bias=true, dropout=0,
    /// bidirectional=false)`, `last_token`, `mean_tokens`.
    ///
    /// # Errors
    /// A [`SpecError`] naming the item, the key and what is accepted.
    pub fn parse(text: &str) -> Result<Self, SpecError> {
        let spec: Spec = text.parse()?;
        let kind = match spec.name.as_str() {
            "mlp" => Kind::Mlp(parse_mlp(&spec)?),
            "seq" => {
                if let Some((k, v)) = spec.args.iter().find_map(|(k, v)| k.as_ref().map(|k| (k, v))) {
                    return Err(err(&spec, format!("items are layers such as linear(784, 10) or relu, got `{k}={v}`")));
                }
                Kind::Seq(std::sync::Arc::new(nest::parse_items(&spec)?))
            }
            other => {
                return Err(err(
                    &spec,
                    format!("unknown model `{other}`; accepted: mlp(sizes…, act, dropout, batch_norm), seq(items…)"),
                ));
            }
        };
        Ok(Self { text: text.to_string(), kind })
    }

    /// Checks that every number the spec gives stays itself in `T`: finite,
    /// and not zero unless given as zero (`prelu(1, init=1e39)` overflows
    /// f32, `batchnorm1d(784, eps=1e-300)` is an eps of 0 in f32).
    ///
    /// ```
    /// use gradus::models::ModelSpec;
    ///
    /// let spec = ModelSpec::parse("seq(flatten, linear(784, 10), prelu(1, init=1e39))").unwrap();
    /// assert!(spec.representable::<f64>().is_ok());
    /// let err = spec.representable::<f32>().unwrap_err();
    /// assert!(err.contains("`init` = 1e39 is infinite in f32"), "{err}");
    /// ```
    ///
    /// # Errors
    /// A message naming the item, the key and the value.
    pub fn representable<T: Float>(&self) -> Result<(), String> {
        fn walk<T: Float>(spec: &Spec) -> Result<(), String> {
            for (i, (key, value)) in spec.args.iter().enumerate() {
                let key = key.clone().unwrap_or_else(|| format!("argument {}", i + 1));
                check::<T>(spec, &key, value)?;
            }
            Ok(())
        }
        fn check<T: Float>(spec: &Spec, key: &str, value: &Value) -> Result<(), String> {
            match value {
                Value::Number(x) => {
                    let y = T::of(*x);
                    let what = if !y.is_finite() {
                        "infinite"
                    } else if *x != 0.0 && y == T::zero() {
                        "0"
                    } else {
                        return Ok(());
                    };
                    let name = std::any::type_name::<T>();
                    Err(format!("{spec}: `{key}` = {x:e} is {what} in {name}, the type the model is built in"))
                }
                Value::Tuple(items) | Value::List(items) => items.iter().try_for_each(|v| check::<T>(spec, key, v)),
                Value::Spec(inner) => walk::<T>(inner),
                Value::Bool(_) | Value::Word(_) => Ok(()),
            }
        }
        let spec: Spec = self.text.parse().map_err(|e: SpecError| e.to_string())?;
        walk::<T>(&spec)
    }

    /// [`ModelSpec::parse`] of a spec written in a file, for specs too long
    /// for a command line: `#` starts a comment that runs to the end of the
    /// line, and newlines are spaces.
    ///
    /// ```
    /// use gradus::models::ModelSpec;
    /// let text = "seq(conv2d(1, 8, 3),  # the stem\n    relu, flatten,\n    linear(5408, 10))\n";
    /// let spec = ModelSpec::from_file_text(text).unwrap();
    /// assert_eq!(spec, ModelSpec::parse("seq(conv2d(1, 8, 3), relu, flatten, linear(5408, 10))").unwrap());
    /// ```
    ///
    /// # Errors
    /// As [`ModelSpec::parse`].
    pub fn from_file_text(text: &str) -> Result<Self, SpecError> {
        let joined: Vec<&str> = text
            .lines()
            .map(|l| l.split_once('#').map_or(l, |(code, _)| code).trim())
            .filter(|l| !l.is_empty())
            .collect();
        Self::parse(&joined.join(" "))
    }

    /// The spec as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The model, its weights drawn from `seed` (an `mlp` as
    /// [`Mlp::build`]; a `seq`'s convolutions and linear layers as PyTorch
    /// initialises them).
    pub fn build<T: Float>(&self, seed: u64) -> Sequential<T> {
        let mut rng = StdRng::seed_from_u64(seed);
        match &self.kind {
            Kind::Mlp(m) => m.build(&mut rng),
            Kind::Seq(seq) => seq.sequential(&mut rng),
        }
    }

    /// The number of values the model stores (parameters and buffers),
    /// counted from the spec without building it, so that a model too large
    /// for memory is refused before anything is allocated. In f64, which
    /// holds any count a spec can write exactly enough.
    ///
    /// ```
    /// use gradus::models::ModelSpec;
    /// assert_eq!(ModelSpec::parse("mlp(784, 16, 10)").unwrap().stored_values(), 784.0 * 16.0 + 16.0 + 16.0 * 10.0 + 10.0);
    /// let cnn = ModelSpec::parse("seq(conv2d(1, 8, 3), batchnorm2d(8), relu, flatten, linear(5408, 10))").unwrap();
    /// assert_eq!(cnn.stored_values(), (8.0 * 9.0 + 8.0) + (4.0 * 8.0 + 1.0) + (5408.0 * 10.0 + 10.0));
    /// ```
    pub fn stored_values(&self) -> f64 {
        let f = |n: usize| n as f64;
        match &self.kind {
            Kind::Mlp(m) => {
                let s = m.sizes();
                let layers: f64 = s.windows(2).map(|w| f(w[0]) * f(w[1]) + f(w[1])).sum();
                let norms: f64 =
                    if m.has_batch_norm() { s[1..s.len() - 1].iter().map(|&n| 4.0 * f(n) + 1.0).sum() } else { 0.0 };
                layers + norms
            }
            Kind::Seq(seq) => items::Layer::stored(seq.as_ref()),
        }
    }

    /// The shape one example reaches the model in, for examples of shape
    /// `example` (`[28, 28]`): flattened for an `mlp` and for a `seq` that
    /// starts with `linear`, else with a channel axis in front (`[1, 28, 28]`).
    pub fn input_shape(&self, example: &[usize]) -> Vec<usize> {
        let flat = match &self.kind {
            Kind::Mlp(_) => true,
            Kind::Seq(seq) => items::Layer::flat_input(seq.as_ref()),
        };
        if flat {
            vec![example.iter().product()]
        } else if example.len() == 2 {
            let mut s = vec![1];
            s.extend(example);
            s
        } else {
            example.to_vec()
        }
    }

    /// Checks `model` (built from this spec) against examples of shape
    /// `example` and `classes` classes, before any training: every layer
    /// must fit the one before it, and the output must be `[N, k]` with
    /// k ≥ `classes`.
    ///
    /// Returns the number of values the layers output for one example
    /// (what a forward pass keeps per example for the backward pass),
    /// counted on a forward pass of one example in evaluation mode: every
    /// output of every module inside, nested ones included, except those
    /// that share their storage with one already counted (a view such as
    /// `flatten`, a container's output that is its last layer's); as far
    /// as the layers can tell their shapes when one cannot.
    ///
    /// # Errors
    /// A message naming the item (as written), the shape it got and the one
    /// it needs.
    pub fn check<T: Float>(&self, model: &Sequential<T>, example: &[usize], classes: usize) -> Result<f64, String> {
        self.check_output(model, example, None, classes)
    }

    /// [`check`](Self::check) for a model that predicts a class at every
    /// position of a sequence of `example` `[T]` tokens (a text model): the
    /// output must be `[N, T, k]` with k ≥ `classes`, and a model that
    /// starts with an embedding must have a vector for every class.
    ///
    /// ```
    /// use gradus::models::ModelSpec;
    /// let spec = ModelSpec::parse("seq(embedding(256, 8), linear(8, 256))").unwrap();
    /// assert!(spec.check_sequence(&spec.build::<f32>(0), &[16], 256).is_ok());
    /// let small = ModelSpec::parse("seq(embedding(100, 8), linear(8, 256))").unwrap();
    /// let err = small.check_sequence(&small.build::<f32>(0), &[16], 256).unwrap_err();
    /// assert!(err.contains("tokens below 100"), "{err}");
    /// ```
    ///
    /// # Errors
    /// As [`check`](Self::check), and for tokens the embedding has no row for.
    pub fn check_sequence<T: Float>(
        &self,
        model: &Sequential<T>,
        example: &[usize],
        classes: usize,
    ) -> Result<f64, String> {
        match model.token_limit() {
            Some(k) if k < classes => {
                return Err(format!(
                    "{}: the model takes tokens below {k}, the data has tokens 0..{classes}; give the embedding {classes} rows",
                    self.text
                ));
            }
            Some(_) => {}
            None => {
                return Err(format!("{}: a model of tokens starts with embedding({classes}, dim)", self.text));
            }
        }
        self.check_output(model, example, example.first().copied(), classes)
    }

    /// The walk of [`check`](Self::check): the output `[N, k]`, or `[N, T,
    /// k]` with `positions` T.
    fn check_output<T: Float>(
        &self,
        model: &Sequential<T>,
        example: &[usize],
        positions: Option<usize>,
        classes: usize,
    ) -> Result<f64, String> {
        // A batch size no layer's own numbers are likely to equal, written
        // back as N in the messages.
        const BATCH: usize = 7919;
        let named = |msg: String| msg.replace(&format!("[{BATCH}, "), "[N, ").replace(&format!("[{BATCH}]"), "[N]");
        let mut input = vec![BATCH];
        input.extend(self.input_shape(example));
        let (shape, outputs) = self.walk(model, &input).map_err(named)?;
        let Some(shape) = shape else {
            return Ok(outputs);
        };
        let wanted = match positions {
            Some(t) => format!("[N, {t}, {classes}] (a class per position)"),
            None => format!("[N, {classes}] (end with flatten and linear)"),
        };
        match (shape.as_slice(), positions) {
            ([_, k], None) | ([_, _, k], Some(_)) if *k < classes => {
                Err(format!("{}: the model has {k} outputs, fewer than the data's {classes} classes", self.text))
            }
            ([_, _], None) => Ok(kept_per_example(model, &input[1..])),
            ([_, t, _], Some(p)) if *t == p => Ok(kept_per_example(model, &input[1..])),
            (other, _) => Err(named(format!(
                "{}: the model's output is {other:?} for input {input:?}; the loss needs {wanted}",
                self.text
            ))),
        }
    }

    /// Checks that a batch of `batch` examples of shape `example` passes
    /// through `model` in its current mode. In training, batch norm needs
    /// more than one value per channel (batch × positions, as PyTorch's
    /// "Expected more than 1 value per channel when training"), so a batch
    /// of one, or of one image whose plane has been pooled to 1 × 1, does
    /// not; [`check`](Self::check) cannot tell, as it does not know the
    /// batch size.
    ///
    /// ```
    /// use gradus::models::ModelSpec;
    ///
    /// let spec = ModelSpec::parse("mlp(4, 8, 3, batch_norm=true)").unwrap();
    /// let model = spec.build::<f32>(0);
    /// assert!(spec.check_batch(&model, &[4], 2).is_ok());
    /// let err = spec.check_batch(&model, &[4], 1).unwrap_err();
    /// assert!(err.contains("more than one value per channel"), "{err}");
    /// ```
    ///
    /// # Errors
    /// A message naming the item, the batch and the shape it got.
    pub fn check_batch<T: Float>(&self, model: &Sequential<T>, example: &[usize], batch: usize) -> Result<(), String> {
        let mut input = vec![batch];
        input.extend(self.input_shape(example));
        self.walk(model, &input).map(|_| ())
    }

    /// The output shape of `model` for `input`, layer by layer (`None` from
    /// the first layer that cannot tell its output's shape), and the values
    /// the layers before that output per example; an error names the first
    /// item that cannot take its input.
    fn walk<T: Float>(&self, model: &Sequential<T>, input: &[usize]) -> Result<(Option<Vec<usize>>, f64), String> {
        let mut shape = input.to_vec();
        let mut outputs = 0.0;
        for (i, layer) in model.layers().iter().enumerate() {
            let name = match &self.kind {
                Kind::Seq(seq) => seq.items[i].0.clone(),
                Kind::Mlp(_) => format!("layer {i}"),
            };
            match layer.output_shape(&shape) {
                Some(Ok(next)) => shape = next,
                Some(Err(e)) => return Err(format!("{}: item {i}, {name}: {e}", self.text)),
                None => return Ok((None, outputs)),
            }
            outputs += shape[1..].iter().map(|&n| n as f64).product::<f64>();
        }
        Ok((Some(shape), outputs))
    }
}

/// The values a forward pass of one example of shape `example` makes,
/// each storage counted once (see [`ModelSpec::check`]); the model's mode
/// comes back afterwards.
fn kept_per_example<T: Float>(model: &Sequential<T>, example: &[usize]) -> f64 {
    let mode = model.training();
    model.eval();
    let mut shape = vec![1];
    shape.extend(example);
    let x = gradus_autodiff::Var::constant(gradus_tensor::Tensor::<T>::zeros(&shape));
    let mut seen: Vec<gradus_tensor::Tensor<T>> = vec![x.value().clone()];
    let mut kept = 0.0;
    gradus_autodiff::no_grad(|| {
        model.forward_observed(
            &gradus_autodiff::Tape::new(),
            &x,
            &mut gradus_nn::Observer::new(&mut |_, _, y| {
                if !seen.iter().any(|t| t.shares_storage_with(y.value())) {
                    kept += y.value().numel() as f64;
                    seen.push(y.value().clone());
                }
            }),
        )
    });
    if let Some(m) = mode {
        model.set_training(m);
    }
    kept
}

fn parse_mlp(spec: &Spec) -> Result<Mlp, SpecError> {
    let (mut sizes, mut act, mut dropout, mut bn) = (Vec::new(), gradus_nn::Activation::Relu, 0.0, false);
    let mut seen: Vec<&str> = Vec::new();
    for (key, value) in &spec.args {
        if let Some(k) = key.as_deref() {
            if seen.contains(&k) {
                return Err(err(spec, format!("`{k}` given twice")));
            }
            seen.push(k);
        }
        match (key.as_deref(), value) {
            (None, Value::Number(n)) if *n >= 1.0 && n.fract() == 0.0 && *n < 1e9 => sizes.push(*n as usize),
            (Some("act"), Value::Word(w)) => act = w.parse().map_err(|e| err(spec, format!("{e}")))?,
            (Some("dropout"), Value::Number(p)) if (0.0..1.0).contains(p) => dropout = *p,
            (Some("batch_norm"), Value::Bool(b)) => bn = *b,
            (k, v) => {
                return Err(err(
                    spec,
                    format!(
                        "`{}` is not accepted; mlp takes positive integer sizes (below 10^9), act=<activation>, dropout=<p in [0, 1)>, batch_norm=<bool>",
                        k.map_or(v.to_string(), |k| format!("{k}={v}"))
                    ),
                ));
            }
        }
    }
    if sizes.len() < 2 {
        return Err(err(spec, "needs at least input and output sizes"));
    }
    Ok(Mlp::new(&sizes).activation(act).dropout(dropout).batch_norm(bn))
}
