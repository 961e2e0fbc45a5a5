//! `Linear`: y = x Wᵀ + b.

use crate::{Init, Module, Param, Visitor};
use gradus_autodiff::{Tape, Var};
use gradus_tensor::Float;
use rand::Rng;

/// A dense layer y = x Wᵀ + b with W of shape `[out, in]` and b of shape
/// `[out]` (PyTorch's layout), on inputs `[batch, in]` (or `[…, in]`).
///
/// Default initialisation, chosen for ReLU networks: He, W ~ N(0, 2/in),
/// and b = 0. PyTorch's default is U[±1/√in] for both, [`Init::XavierLecture`]:
/// pass it to [`Linear::with_init`] to start where PyTorch would.
///
/// # Examples
/// ```
/// use gradus_autodiff::{Tape, Var};
/// use gradus_nn::{Linear, Module};
/// use gradus_tensor::Tensor;
/// // The worked example: Wx + b = (−1, 24).
/// let w = Tensor::from_vec(vec![1.0f64, 2.0, -1.0, -2.0, 3.0, 4.0, -3.0, 4.0], &[2, 4]).unwrap();
/// let layer = Linear::from_tensors(w, Some(Tensor::from_vec(vec![5.0, 6.0], &[2]).unwrap()));
/// let x = Var::constant(Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[1, 4]).unwrap());
/// assert_eq!(layer.forward(&Tape::new(), &x).value().to_vec(), vec![-1.0, 24.0]);
/// ```
#[derive(Debug)]
pub struct Linear<T: Float> {
    weight: Param<T>,
    bias: Option<Param<T>>,
}

impl<T: Float> Linear<T> {
    /// `in_features → out_features` with a bias, He-initialised.
    pub fn new<R: Rng + ?Sized>(in_features: usize, out_features: usize, rng: &mut R) -> Self {
        Self::with_init(in_features, out_features, Init::he(), Some(Init::Zeros), rng)
    }

    /// A layer with the given initialisation of the weight and of the bias
    /// (drawn with the weight's fans, as PyTorch does), or no bias for
    /// `bias: None` (PyTorch's `bias=False`).
    ///
    /// ```
    /// use gradus_nn::{Init, Linear};
    /// let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(0);
    /// let no_bias = Linear::<f32>::with_init(4, 3, Init::he(), None, &mut rng);
    /// assert!(no_bias.bias().is_none());
    /// let ones = Linear::<f32>::with_init(4, 3, Init::he(), Some(Init::Constant(1.0)), &mut rng);
    /// assert_eq!(ones.bias().unwrap().value().to_vec(), vec![1.0; 3]);
    /// ```
    pub fn with_init<R: Rng + ?Sized>(
        in_features: usize,
        out_features: usize,
        weight_init: Init,
        bias: Option<Init>,
        rng: &mut R,
    ) -> Self {
        let weight = weight_init.tensor_with_fans(&[out_features, in_features], in_features, out_features, rng);
        let bias = bias.map(|init| init.tensor_with_fans(&[out_features], in_features, out_features, rng));
        Self::from_tensors(weight, bias)
    }

    /// A layer with the given weight `[out, in]` and bias `[out]`.
    ///
    /// # Panics
    /// If the shapes do not fit together.
    #[track_caller]
    pub fn from_tensors(weight: gradus_tensor::Tensor<T>, bias: Option<gradus_tensor::Tensor<T>>) -> Self {
        assert_eq!(weight.rank(), 2, "Linear: weight must be [out, in], got {:?}", weight.shape());
        if let Some(b) = &bias {
            assert_eq!(b.shape(), &[weight.shape()[0]], "Linear: bias must be [out] for weight {:?}", weight.shape());
        }
        Self { weight: Param::new(weight), bias: bias.map(Param::new) }
    }

    /// The weight `[out, in]`.
    pub fn weight(&self) -> &Param<T> {
        &self.weight
    }

    /// The bias `[out]`, if any.
    pub fn bias(&self) -> Option<&Param<T>> {
        self.bias.as_ref()
    }

    /// Input features.
    pub fn in_features(&self) -> usize {
        self.weight.shape()[1]
    }

    /// Output features.
    pub fn out_features(&self) -> usize {
        self.weight.shape()[0]
    }
}

impl<T: Float> Module<T> for Linear<T> {
    crate::module::position_wise!();

    #[track_caller]
    fn forward(&self, tape: &Tape<T>, x: &Var<T>) -> Var<T> {
        let features = x.shape().last().copied();
        assert_eq!(
            features,
            Some(self.in_features()),
            "Linear({} -> {}): input of shape {:?} does not end in {} features",
            self.in_features(),
            self.out_features(),
            x.shape(),
            self.in_features()
        );
        let bias = self.bias.as_ref().map(|b| b.var(tape));
        x.linear(&self.weight.var(tape), bias.as_ref())
    }

    fn output_shape(&self, input: &[usize]) -> Option<Result<Vec<usize>, String>> {
        let (i, o) = (self.in_features(), self.out_features());
        Some(match input.split_last() {
            Some((&last, rest)) if last == i => Ok(rest.iter().copied().chain([o]).collect()),
            _ => Err(format!("Linear({i} -> {o}) needs [N, {i}], got {input:?}")),
        })
    }

    fn visit<'a>(&'a self, v: &mut Visitor<'a, '_, T>) {
        v.param("weight", &self.weight);
        if let Some(b) = &self.bias {
            v.param("bias", b);
        }
    }
}
