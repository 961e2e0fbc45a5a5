//! `Residual`, y = body(x) + shortcut(x) (He et al. 2016), and
//! `Identity`.

use crate::{Module, Sequential};
use gradus_autodiff::{Tape, Var};
use gradus_tensor::Float;

/// A residual block: y = body(x) + shortcut(x), the shortcut the identity
/// unless given (a 1×1 strided convolution and batch norm, for a block that
/// changes the shape). Its tensors are named `body.i.…` and
/// `shortcut.j.…`, as a PyTorch module with attributes `body` and
/// `shortcut` (both `nn.Sequential`) names them.
///
/// ```
/// use gradus_autodiff::{Tape, Var};
/// use gradus_nn::{Linear, Module, Relu, Residual, Sequential};
/// use gradus_tensor::Tensor;
/// use rand::{SeedableRng, rngs::StdRng};
/// let mut rng = StdRng::seed_from_u64(0);
/// let block = Residual::<f64>::new(Sequential::new().append(Linear::new(3, 3, &mut rng)).append(Relu));
/// let names: Vec<String> = block.named_parameters().into_iter().map(|(n, _)| n).collect();
/// assert_eq!(names, ["body.0.weight", "body.0.bias"]);
/// let x = Var::constant(Tensor::ones(&[2, 3]));
/// let y = block.forward(&Tape::new(), &x);
/// let body = block.body().forward(&Tape::new(), &x);
/// assert_eq!(y.value().to_vec(), (&body.into_value() + 1.0).to_vec());
/// assert_eq!(block.output_shape(&[2, 3]), Some(Ok(vec![2, 3])));
/// ```
pub struct Residual<T: Float> {
    // Boxed, so that an observed forward pass sees their outputs.
    body: Box<Sequential<T>>,
    shortcut: Option<Box<Sequential<T>>>,
}

impl<T: Float> Residual<T> {
    /// `body(x) + x`.
    pub fn new(body: Sequential<T>) -> Self {
        Self { body: Box::new(body), shortcut: None }
    }

    /// `body(x) + shortcut(x)`.
    pub fn with_shortcut(body: Sequential<T>, shortcut: Sequential<T>) -> Self {
        Self { body: Box::new(body), shortcut: Some(Box::new(shortcut)) }
    }

    /// The body.
    pub fn body(&self) -> &Sequential<T> {
        &self.body
    }

    /// The shortcut, `None` for the identity.
    pub fn shortcut(&self) -> Option<&Sequential<T>> {
        self.shortcut.as_deref()
    }
}

impl<T: Float> Module<T> for Residual<T> {
    fn forward(&self, tape: &Tape<T>, x: &Var<T>) -> Var<T> {
        let y = self.body.forward(tape, x);
        match &self.shortcut {
            Some(s) => y.add(&s.forward(tape, x)),
            None => y.add(x),
        }
    }

    fn children(&self) -> Vec<(String, &dyn Module<T>)> {
        let mut c: Vec<(String, &dyn Module<T>)> = vec![("body".into(), self.body.as_ref())];
        if let Some(s) = &self.shortcut {
            c.push(("shortcut".into(), s.as_ref()));
        }
        c
    }

    /// The body's and the shortcut's shapes, which must agree: the sum
    /// does not broadcast one onto the other.
    fn output_shape(&self, input: &[usize]) -> Option<Result<Vec<usize>, String>> {
        let body = match self.body.output_shape(input)? {
            Ok(s) => s,
            Err(e) => return Some(Err(format!("body, {e}"))),
        };
        let shortcut = match &self.shortcut {
            None => input.to_vec(),
            Some(s) => match s.output_shape(input)? {
                Ok(s) => s,
                Err(e) => return Some(Err(format!("shortcut, {e}"))),
            },
        };
        Some(if body == shortcut {
            Ok(body)
        } else {
            Err(format!(
                "Residual's body gives {body:?} and its shortcut {shortcut:?} for input {input:?}; they must agree"
            ))
        })
    }
}

/// The identity, PyTorch's `nn.Identity`: a placeholder that passes its
/// input on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Identity;

impl<T: Float> Module<T> for Identity {
    crate::module::same_shape!();

    fn forward(&self, _tape: &Tape<T>, x: &Var<T>) -> Var<T> {
        x.clone()
    }
}
