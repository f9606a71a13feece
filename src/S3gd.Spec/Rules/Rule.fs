/// The shape every rule shares: one parameter (flat, row-major, with its shape and name), its
/// gradient, and its state as named buffers; each rule module also has its own typed records.
namespace S3gd.Spec.Rules

open MathNet.Numerics.LinearAlgebra

/// A float64 vector: parameters, gradients and state buffers, flattened row-major.
type Vec = Vector<float>

/// A parameter as a rule sees it: a name (Adam-mini partitions by name), a shape and its values.
type Param =
    { /// The parameter's name, as in a model's named_parameters().
      Name: string
      /// The tensor shape; the values are row-major.
      Shape: int list
      /// The values, flattened row-major.
      Value: Vec }

/// The state of one parameter under a rule, named as the reference names it.
type NamedState =
    { /// Steps taken so far (torch's `step`).
      Step: int
      /// Every buffer by torch's name (exp_avg, exp_avg_sq, momentum_buffer, ...); absent until allocated.
      Buffers: Map<string, Vec> }

/// A rule with its hyperparameters resolved, on parameters of any shape it accepts.
type Rule =
    { /// The state before the first step for a parameter (buffers the reference allocates up front).
      Init: Param -> NamedState
      /// One step: (state, grad, param) -> (param values', state').
      Step: NamedState -> Vec -> Param -> Vec * NamedState }

/// A rule as the registry lists it.
type RuleInfo =
    { /// The command-line name (lower case, hyphens): sgd, adamw, sim-ademamix, ...
      Name: string
      /// One line on what the rule is.
      Summary: string
      /// The reference implementation the spec follows (repository, file, version).
      Reference: string
      /// Every hyperparameter with its default and range.
      Hypers: HyperDef list
      /// Pair names accepted on the command line, as (pair, first, second): ("betas", "beta1", "beta2").
      Pairs: (string * string * string) list
      /// The rule for resolved hyperparameters (see `Hyper.resolve`); errors for combinations the reference rejects.
      Create: Hypers -> Result<Rule, string> }
