//! Sharpness-aware minimisation (Foret et al., 2021, "Sharpness-Aware
//! Minimization for Efficiently Improving Generalization"; the adaptive
//! form ASAM of Kwon et al., 2021): the gradient taken again at the worst
//! nearby point, then any optimiser's step from where it was.

use crate::error::{Result, check};
use crate::platform::Float;
use crate::rule::{Member, State, UpdateRule};

/// Where SAM takes its second gradient: the ascent step e added to the
/// parameters before the second evaluation ([`UpdateRule::sharpness_aware`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Perturbation {
    /// The radius ρ of the neighbourhood.
    pub rho: f64,
    /// ASAM: the neighbourhood scaled by each parameter's magnitude.
    pub adaptive: bool,
}

impl Perturbation {
    /// The ascent step of every parameter from its values and gradient
    /// (over all of them at once, as one vector): e = ρ·g/(‖g‖ + 10⁻¹²),
    /// or with `adaptive` e = ρ·θ²·g/(‖θ·g‖ + 10⁻¹²), the norm summed in
    /// f64.
    ///
    /// ```
    /// use gradus_optim::Perturbation;
    /// let sam = Perturbation { rho: 0.5, adaptive: false };
    /// let e = sam.ascent(&[&[0.0f64, 0.0][..]], &[&[3.0, 4.0][..]]);
    /// assert!((e[0][0] - 0.3).abs() < 1e-12 && (e[0][1] - 0.4).abs() < 1e-12);
    /// ```
    pub fn ascent<T: Float>(&self, params: &[&[T]], grads: &[&[T]]) -> Vec<Vec<T>> {
        let scaled = |p: T, g: T| if self.adaptive { p.abs() * g } else { g };
        let squares: f64 = params
            .iter()
            .zip(grads)
            .flat_map(|(p, g)| p.iter().zip(g.iter()).map(|(&p, &g)| scaled(p, g).as_f64().powi(2)))
            .sum();
        let scale = T::of(self.rho / (squares.sqrt() + 1e-12));
        params
            .iter()
            .zip(grads)
            .map(|(p, g)| {
                p.iter()
                    .zip(g.iter())
                    .map(|(&p, &g)| if self.adaptive { p * p * g * scale } else { g * scale })
                    .collect()
            })
            .collect()
    }
}

/// SAM around an inner optimiser: a step takes the gradient g at θ, the
/// ascent step e ([`Perturbation::ascent`]), the gradient again at θ + e,
/// and the inner method's update from θ with that second gradient. The
/// two evaluations are the caller's: the trainer and `gradus trace` make
/// them when a rule's [`UpdateRule::sharpness_aware`] says so; this rule's
/// update is its inner method's, given the second gradient.
///
/// ```
/// use gradus_optim::{Sam, UpdateRule, parse};
/// let sam = Sam::new(parse::<f64>("sgd(lr=0.1)").unwrap(), 0.05, false).unwrap();
/// assert_eq!(UpdateRule::<f64>::sharpness_aware(&sam).unwrap().rho, 0.05);
/// ```
#[derive(Debug)]
pub struct Sam<T: Float> {
    inner: Box<dyn UpdateRule<T>>,
    perturbation: Perturbation,
}

impl<T: Float> Sam<T> {
    /// SAM with radius ρ (ASAM with `adaptive`) around `inner`.
    ///
    /// # Errors
    /// A negative or non-finite ρ, or an inner method that is itself
    /// sharpness-aware.
    pub fn new(inner: Box<dyn UpdateRule<T>>, rho: f64, adaptive: bool) -> Result<Self> {
        check(rho >= 0.0 && rho.is_finite(), "sam", "rho", || format!("must be >= 0 and finite, got {rho}"))?;
        check(inner.sharpness_aware().is_none(), "sam", "optimizer", || "must not be sam itself".to_string())?;
        check(!crate::curvature::solves(&*inner), "sam", "optimizer", || {
            format!("must step on its own; {} solves with the batch's curvature inside its step", inner.name())
        })?;
        Ok(Self { inner, perturbation: Perturbation { rho, adaptive } })
    }
}

impl<T: Float> UpdateRule<T> for Sam<T> {
    fn name(&self) -> &'static str {
        "sam"
    }

    fn default_lr(&self) -> f64 {
        self.inner.default_lr()
    }

    fn slots(&self, shape: &[usize]) -> &'static [&'static str] {
        self.inner.slots(shape)
    }

    fn scalars(&self, shape: &[usize]) -> &'static [&'static str] {
        self.inner.scalars(shape)
    }

    fn init(&self, lr: f64, shape: &[usize]) -> State<T> {
        self.inner.init(lr, shape)
    }

    fn update(&self, lr: f64, param: &mut [T], grad: &[T], state: &mut State<T>) {
        self.inner.update(lr, param, grad, state);
    }

    fn couples(&self) -> bool {
        self.inner.couples()
    }

    fn update_group(&self, lr: f64, members: &mut [Member<'_, T>]) {
        self.inner.update_group(lr, members);
    }

    fn eval_params(&self, param: &[T], state: &State<T>) -> Option<Vec<T>> {
        self.inner.eval_params(param, state)
    }

    fn sharpness_aware(&self) -> Option<Perturbation> {
        Some(self.perturbation)
    }

    fn curvature_request(&self) -> Option<crate::CurvatureRequest> {
        self.inner.curvature_request()
    }

    fn observe_curvature(&self, state: &mut State<T>, estimate: crate::Estimate<'_, T>) {
        self.inner.observe_curvature(state, estimate);
    }

    fn momentum(&self) -> Option<f64> {
        self.inner.momentum()
    }

    fn set_momentum(&mut self, momentum: f64) -> bool {
        self.inner.set_momentum(momentum)
    }
}
