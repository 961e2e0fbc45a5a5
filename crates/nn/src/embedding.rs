//! Tables of learned vectors: [`Embedding`] (a vector per token, torch's
//! `nn.Embedding`) and [`PosEmbedding`] (a vector per position added to a
//! sequence, as GPT-2's learned positions).

use crate::{Init, Module, Param, Visitor};
use gradus_autodiff::{Tape, Var};
use gradus_tensor::{Float, Tensor};
use rand::Rng;
use std::cell::Cell;

/// A learned vector per token: integer tokens `[N, T]` (held as floats, as
/// every batch is) to `[N, T, D]`, row `t` of `weight` `[num_embeddings,
/// D]` for token `t`, as PyTorch's `nn.Embedding`. The weight is drawn
/// from N(0, 1); with `padding_idx` that row starts at zero and receives
/// no gradient. Its gradient is the output's scattered back to the rows
/// (summed where a token repeats).
///
/// ```
/// use gradus_autodiff::{Tape, Var};
/// use gradus_nn::{Embedding, Module};
/// use gradus_tensor::Tensor;
/// let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(0);
/// let emb = Embedding::<f64>::new(10, 3, Some(0), &mut rng);
/// let tokens = Var::constant(Tensor::from_vec(vec![0.0, 7.0], &[1, 2]).unwrap());
/// let y = emb.forward(&Tape::new(), &tokens);
/// assert_eq!(y.shape(), [1, 2, 3]);
/// assert_eq!(y.value().to_vec()[..3], [0.0; 3]); // the padding row
/// ```
#[derive(Debug)]
pub struct Embedding<T: Float> {
    weight: Param<T>,
    padding_idx: Option<usize>,
}

impl<T: Float> Embedding<T> {
    /// `num_embeddings` vectors of `embedding_dim`, N(0, 1), the row
    /// `padding_idx` zero.
    ///
    /// # Panics
    /// If a size is 0 or `padding_idx` is not below `num_embeddings`.
    #[track_caller]
    pub fn new<R: Rng + ?Sized>(
        num_embeddings: usize,
        embedding_dim: usize,
        padding_idx: Option<usize>,
        rng: &mut R,
    ) -> Self {
        assert!(
            num_embeddings > 0 && embedding_dim > 0,
            "Embedding: sizes must be positive, got {num_embeddings}, {embedding_dim}"
        );
        let mut weight = Init::Normal { mean: 0.0, std: 1.0 }.tensor::<T, R>(&[num_embeddings, embedding_dim], rng);
        if let Some(p) = padding_idx {
            assert!(p < num_embeddings, "Embedding: padding_idx {p} is not below num_embeddings {num_embeddings}");
            weight.data_mut()[p * embedding_dim..(p + 1) * embedding_dim].fill(T::zero());
        }
        Self { weight: Param::new(weight), padding_idx }
    }

    /// The number of tokens it has vectors for.
    pub fn num_embeddings(&self) -> usize {
        self.weight.shape()[0]
    }

    /// The tokens of `x` as row indices.
    fn tokens(&self, x: &Tensor<T>) -> Result<Tensor<usize>, String> {
        let n = self.num_embeddings();
        let tokens = x
            .to_vec()
            .into_iter()
            .map(|v| {
                let f = v.as_f64();
                (f >= 0.0 && f.fract() == 0.0 && f < n as f64)
                    .then_some(f as usize)
                    .ok_or_else(|| format!("Embedding({n}, …) takes integer tokens in 0..{n}, got {f}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Tensor::from_vec(tokens, &[x.numel()]).expect("one index per token"))
    }
}

impl<T: Float> Module<T> for Embedding<T> {
    crate::module::position_wise!();

    #[track_caller]
    fn forward(&self, tape: &Tape<T>, x: &Var<T>) -> Var<T> {
        let tokens = self.tokens(x.value()).unwrap_or_else(|e| panic!("{e}"));
        let weight = self.weight.var(tape);
        let rows = weight.index_select(0, &tokens);
        let rows = match self.padding_idx {
            // The padding row's value, as a constant: no gradient reaches it.
            Some(p) => {
                let kept: Vec<bool> = tokens.to_vec().iter().map(|&t| t != p).collect();
                let kept =
                    Tensor::from_vec(kept, &[tokens.numel(), 1]).expect("one per token").broadcast_to(rows.shape());
                Var::select(&kept.contiguous(), &rows, &rows.detach())
            }
            None => rows,
        };
        let mut shape: Vec<isize> = x.shape().iter().map(|&d| d as isize).collect();
        shape.push(self.weight.shape()[1] as isize);
        rows.reshape(&shape)
    }

    fn output_shape(&self, input: &[usize]) -> Option<Result<Vec<usize>, String>> {
        Some(Ok(input.iter().copied().chain([self.weight.shape()[1]]).collect()))
    }

    fn token_limit(&self) -> Option<usize> {
        Some(self.num_embeddings())
    }

    fn visit<'a>(&'a self, v: &mut Visitor<'a, '_, T>) {
        v.param("weight", &self.weight);
    }
}

/// A learned vector per position added to a sequence: `[N, T, D]` plus
/// the first T rows of `weight` `[max_len, D]` (N(0, 1), as
/// `nn.Embedding`). Sequences longer than `max_len` are refused. With the
/// cache on ([`Module::set_cache`]) it counts the positions it has seen
/// and adds the rows after them.
///
/// ```
/// use gradus_autodiff::{Tape, Var};
/// use gradus_nn::{Module, PosEmbedding};
/// use gradus_tensor::Tensor;
/// let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(0);
/// let pos = PosEmbedding::<f64>::new(8, 4, &mut rng);
/// let y = pos.forward(&Tape::new(), &Var::constant(Tensor::zeros(&[2, 3, 4])));
/// assert_eq!(y.value().to_vec()[..12], pos.weight().value().to_vec()[..12]);
/// assert!(pos.output_shape(&[2, 9, 4]).unwrap().is_err());
/// ```
#[derive(Debug)]
pub struct PosEmbedding<T: Float> {
    weight: Param<T>,
    /// Positions seen while the cache is on.
    seen: Cell<Option<usize>>,
}

impl<T: Float> PosEmbedding<T> {
    /// A table of `max_len` positions of `dim` features.
    ///
    /// # Panics
    /// If a size is 0.
    #[track_caller]
    pub fn new<R: Rng + ?Sized>(max_len: usize, dim: usize, rng: &mut R) -> Self {
        assert!(max_len > 0 && dim > 0, "PosEmbedding: sizes must be positive, got {max_len}, {dim}");
        let weight = Init::Normal { mean: 0.0, std: 1.0 }.tensor::<T, R>(&[max_len, dim], rng);
        Self { weight: Param::new(weight), seen: Cell::new(None) }
    }

    /// The table `[max_len, dim]`.
    pub fn weight(&self) -> &Param<T> {
        &self.weight
    }

    fn check(&self, input: &[usize], from: usize) -> Result<Vec<usize>, String> {
        let (max_len, dim) = (self.weight.shape()[0], self.weight.shape()[1]);
        match input {
            [_, t, d] if *d == dim && from + t <= max_len => Ok(input.to_vec()),
            [_, t, d] if *d == dim => Err(format!(
                "pos_embedding({max_len}, {dim}) has {max_len} positions, the sequence reaches position {}",
                from + t
            )),
            _ => Err(format!("pos_embedding({max_len}, {dim}) needs a sequence [N, T, {dim}], got {input:?}")),
        }
    }
}

impl<T: Float> Module<T> for PosEmbedding<T> {
    #[track_caller]
    fn forward(&self, tape: &Tape<T>, x: &Var<T>) -> Var<T> {
        let from = self.seen.get().unwrap_or(0);
        self.check(x.shape(), from).unwrap_or_else(|e| panic!("{e}"));
        let t = x.shape()[1];
        if let Some(seen) = self.seen.get() {
            self.seen.set(Some(seen + t));
        }
        x + &self.weight.var(tape).narrow(0, from, t)
    }

    fn output_shape(&self, input: &[usize]) -> Option<Result<Vec<usize>, String>> {
        Some(self.check(input, 0))
    }

    fn incremental(&self) -> bool {
        true
    }

    fn set_own_cache(&self, on: bool) {
        self.seen.set(on.then_some(0));
    }

    fn visit<'a>(&'a self, v: &mut Visitor<'a, '_, T>) {
        v.param("weight", &self.weight);
    }
}
