/// The backend abstraction `run` and `compare` share: something that runs a rule for N steps on one
/// parameter and returns the final parameter and every state buffer by name. The spec backends live in
/// SpecBackend.fs; GPU/CPU backends plug in beside them and are listed in Backends.fs.
module S3gd.Cli.Backend

open S3gd.Spec.Formats
open S3gd.Spec.Rules

/// The storage formats a backend keeps the parameter, the gradients and the state in.
type Dtypes =
    { /// The parameter's storage format.
      Param: StorageFormat
      /// The gradients' storage format.
      Grad: StorageFormat
      /// The state buffers' storage format.
      State: StorageFormat }

/// float32 everywhere: what `run` asks of a backend that honours dtypes.
let fp32 = { Param = Fp32; Grad = Fp32; State = Fp32 }

/// What a backend is asked to run.
type Request =
    { /// The rule, as the registry lists it (a GPU backend picks its kernel by `Rule.Name`).
      Rule: RuleInfo
      /// Its hyperparameters, resolved (complete and in range).
      Hypers: Hypers
      /// The initial parameter.
      Param: Param
      /// One gradient per step, each of the parameter's length; at least `Steps` of them.
      Grads: Vec[]
      /// The number of steps to take.
      Steps: int
      /// The storage formats to keep the parameter, gradients and state in (a float64 backend ignores them).
      Dtypes: Dtypes }

/// What a backend returns after the last step.
type Outcome =
    { /// The final parameter values, row-major.
      Param: Vec
      /// Every state buffer by the name the rule gives it (exp_avg, momentum_buffer, ...).
      Buffers: Map<string, Vec> }

/// A backend that runs rules.
type Backend =
    { /// The name on the command line (spec, spec-rounded, cpu, cuda, ...).
      Name: string
      /// One line on what it computes in which precision.
      Summary: string
      /// Runs the request; an error says why it cannot (rule not supported, no device, ...).
      Run: Request -> Result<Outcome, string> }
