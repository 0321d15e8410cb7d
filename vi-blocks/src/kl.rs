//! The KL divergence of a whole model, collected by walking its module tree.
//!
//! [`total_kl`] visits every parameter of any Burn module (a user's own struct, nested at any
//! depth, next to ordinary layers) and sums the mean-field KL of every group of parameters that
//! follows the convention of this crate's layers: within one module, fields `<name>_loc` and
//! `<name>_rho` (the posterior `N(loc, softplus(rho)²)`) and a field `prior` (a [`Prior`]
//! encoded by [`Prior::encode`]). [`crate::nn::BayesianLinear`] follows it, weights made Bayesian
//! by [`crate::nn::bayesianize`] are found through their reparameterization, and a user's own
//! layer that follows it is counted too. No per-layer sum is written by hand.
//!
//! [`Prior`]: crate::nn::Prior
//! [`Prior::encode`]: crate::nn::Prior::encode

use crate::nn::{MeanFieldWeight, concrete_regularizer, mean_field_kl, mean_field_kl_pair};
use burn::module::Reparameterization;
use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::Tensor;
use std::collections::BTreeMap;

/// Sum of the KL divergences of every Bayesian parameter group in `module`, `[1]`
/// (differentiable), or `None` when the module has none.
///
/// # Example
/// ```
/// use burn::module::Module;
/// use burn::nn::{Linear, LinearConfig};
/// use burn::tensor::Device;
/// use vi_blocks::kl::total_kl;
/// use vi_blocks::nn::{BayesianLinear, BayesianLinearConfig};
///
/// #[derive(Module, Debug)]
/// struct Net { encoder: Linear, heads: Vec<BayesianLinear> }
///
/// let device = Device::default();
/// let net = Net {
///     encoder: LinearConfig::new(3, 4).init(&device),
///     heads: vec![BayesianLinearConfig::new(4, 1).init(&device); 2],
/// };
/// let kl = total_kl(&net).unwrap(); // KL(head 0) + KL(head 1)
/// let by_hand = net.heads[0].kl() + net.heads[1].kl();
/// let (kl, by_hand): (f32, f32) = (kl.into_scalar(), by_hand.into_scalar());
/// assert!((kl - by_hand).abs() <= 1e-5 * by_hand);
/// ```
pub fn total_kl<M: Module>(module: &M) -> Option<Tensor<1>> {
    let mut collector = Collector::default();
    module.visit(&mut collector);
    collector
        .groups
        .into_values()
        .filter_map(|group| group.kl())
        .reduce(|a, b| a + b)
}

/// [`total_kl`] plus the regulariser of every concrete-dropout layer
/// ([`crate::nn::ConcreteLinear`]): the whole penalty of a model trained with variational
/// layers and concrete dropout, `[1]`, or `None` when there is none.
///
/// # Example
/// ```
/// use burn::module::Module;
/// use burn::tensor::Device;
/// use vi_blocks::kl::total_regularizer;
/// use vi_blocks::nn::{BayesianLinear, BayesianLinearConfig, ConcreteLinear, ConcreteLinearConfig};
///
/// #[derive(Module, Debug)]
/// struct Net { hidden: ConcreteLinear, out: BayesianLinear }
///
/// let device = Device::default();
/// let net = Net {
///     hidden: ConcreteLinearConfig::new(3, 8, 1e-4, 1e-3).init(&device),
///     out: BayesianLinearConfig::new(8, 1).init(&device),
/// };
/// let total: f32 = total_regularizer(&net).unwrap().into_scalar();
/// let by_hand: f32 = (net.hidden.regularizer() + net.out.kl()).into_scalar();
/// assert!((total - by_hand).abs() <= 1e-5 * by_hand.abs().max(1.0));
/// ```
pub fn total_regularizer<M: Module>(module: &M) -> Option<Tensor<1>> {
    let mut collector = Collector::default();
    module.visit(&mut collector);
    collector
        .groups
        .into_values()
        .flat_map(|group| [group.concrete(), group.kl()])
        .flatten()
        .reduce(|a, b| a + b)
}

/// A visited parameter at its own rank, so that the KL reads it without a tracked reshape
/// (one autodiff node per parameter per step otherwise); flattened only where a vector is
/// needed.
#[derive(Clone)]
enum Visited {
    Vector(Tensor<1>),
    Matrix(Tensor<2>),
    /// Any other rank, flattened.
    Flat(Tensor<1>),
}

impl Visited {
    fn new<const D: usize>(tensor: Tensor<D>) -> Self {
        // The rank is checked before the primitive is rewrapped with it.
        match D {
            1 => Visited::Vector(Tensor::from_dispatch(tensor.into_dispatch())),
            2 => Visited::Matrix(Tensor::from_dispatch(tensor.into_dispatch())),
            _ => Visited::Flat(tensor.reshape([-1])),
        }
    }

    fn flat(self) -> Tensor<1> {
        match self {
            Visited::Vector(t) | Visited::Flat(t) => t,
            Visited::Matrix(t) => t.reshape([-1]),
        }
    }

    /// The mean-field KL of `N(self, softplus(rho)²)` to `prior`, at the parameters' rank when
    /// both share it.
    fn kl(self, rho: Self, prior: Tensor<1>) -> Tensor<1> {
        match (self, rho) {
            (Visited::Matrix(loc), Visited::Matrix(rho)) => mean_field_kl(loc, rho, prior),
            (loc, rho) => mean_field_kl(loc.flat(), rho.flat(), prior),
        }
    }
}

/// The mean-field KL of two `(loc, rho)` groups under one prior, summed in one fused op (at
/// the parameters' ranks for a weight matrix with its bias vector).
fn kl_pair(first: (Visited, Visited), second: (Visited, Visited), prior: Tensor<1>) -> Tensor<1> {
    use Visited::{Matrix, Vector};
    match (first, second) {
        ((Matrix(loc_w), Matrix(rho_w)), (Vector(loc_b), Vector(rho_b)))
        | ((Vector(loc_b), Vector(rho_b)), (Matrix(loc_w), Matrix(rho_w))) => {
            mean_field_kl_pair((loc_w, rho_w), (loc_b, rho_b), prior)
        }
        ((Matrix(loc_a), Matrix(rho_a)), (Matrix(loc_b), Matrix(rho_b))) => {
            mean_field_kl_pair((loc_a, rho_a), (loc_b, rho_b), prior)
        }
        ((loc_a, rho_a), (loc_b, rho_b)) => mean_field_kl_pair(
            (loc_a.flat(), rho_a.flat()),
            (loc_b.flat(), rho_b.flat()),
            prior,
        ),
    }
}

/// Parameters seen inside one module instance, by field name.
#[derive(Default)]
struct Group {
    fields: BTreeMap<String, Visited>,
    /// Input size of a concrete-dropout layer's weight.
    inputs: Option<usize>,
}

impl Group {
    /// The concrete-dropout regulariser of a `ConcreteLinear` (fields `p_logit`,
    /// `concrete_regularization` and its `linear.weight`/`linear.bias`, recorded under the
    /// layer's path).
    fn concrete(&self) -> Option<Tensor<1>> {
        let field = |name: &str| self.fields.get(name).cloned().map(Visited::flat);
        let p_logit = field("p_logit")?;
        let constants = field("concrete_regularization")?;
        let weight = field("linear.weight")?;
        let d_input = *self.inputs.as_ref()?;
        let bias = field("linear.bias");
        Some(concrete_regularizer(
            p_logit, weight, bias, constants, d_input,
        ))
    }

    fn kl(&self) -> Option<Tensor<1>> {
        let prior = self.fields.get("prior")?.clone().flat();
        let groups: Vec<(Visited, Visited)> = self
            .fields
            .iter()
            .filter_map(|(name, loc)| {
                let stem = name.strip_suffix("loc")?;
                if !(stem.is_empty() || stem.ends_with('_')) {
                    return None;
                }
                let rho = self.fields.get(&format!("{stem}rho"))?;
                Some((loc.clone(), rho.clone()))
            })
            .collect();
        // Two groups (a layer's weights and bias) per fused op.
        groups
            .chunks(2)
            .map(|chunk| match chunk {
                [first, second] => kl_pair(first.clone(), second.clone(), prior.clone()),
                [(loc, rho)] => loc.clone().kl(rho.clone(), prior.clone()),
                _ => unreachable!("chunks of one or two"),
            })
            .reduce(|a, b| a + b)
    }
}

#[derive(Default)]
struct Collector {
    path: Vec<String>,
    groups: BTreeMap<String, Group>,
    /// The last float parameter visited: the base (posterior mean) of a reparameterization
    /// entered next.
    last: Option<Visited>,
}

impl ModuleVisitor for Collector {
    fn enter_module(&mut self, name: &str, container_type: &str) {
        self.path.push(name.to_string());
        if container_type == "Reparameterization"
            && name == MeanFieldWeight::NAME
            && let Some(base) = self.last.take()
        {
            let group = self.path.join(".");
            self.groups
                .entry(group)
                .or_default()
                .fields
                .insert("loc".into(), base);
        }
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.last = Some(Visited::new(param.val()));
        let Some((field, owner)) = self.path.split_last() else {
            return;
        };
        if (field == "weight" || field == "bias")
            && let Some((parent, layer)) = owner.split_last()
            && parent == "linear"
        {
            // A ConcreteLinear's wrapped layer: kept under the concrete layer's path.
            let group = self.groups.entry(layer.join(".")).or_default();
            if field == "weight" {
                group.inputs = Some(param.val().dims()[0]);
            }
            group
                .fields
                .insert(format!("linear.{field}"), Visited::new(param.val()));
            return;
        }
        if field == "prior"
            || field == "p_logit"
            || field == "concrete_regularization"
            || field.ends_with("loc")
            || field.ends_with("rho")
        {
            self.groups
                .entry(owner.join("."))
                .or_default()
                .fields
                .insert(field.clone(), Visited::new(param.val()));
        }
    }
}
