/// The backend abstraction `run` and `compare` share: something that runs a rule for N steps on one
/// parameter and returns the final parameter and every state buffer by name. The spec backends live in
/// SpecBackend.fs; GPU/CPU backends plug in beside them and are listed in Backends.fs.
module S3gd.Cli.Backend

open S3gd.Spec.Formats
open S3gd.Spec.Rules

/// What one step measured (`s3gd run --telemetry`); None where the backend does not measure it (printed "-", not 0).
type StepReading =
    { /// The step (1-based).
      Step: int
      /// The step's time in milliseconds: the device backend's `TimeMilliseconds` (CUDA events on the GPU), the host's
      /// wall clock for the spec.
      Milliseconds: float
      /// The largest |p_new - p_old| of the step.
      MaxAbsUpdate: float option
      /// Gradient elements of the step that were NaN or infinite (as stored: a finite float64 beyond the format's range
      /// stored as infinity counts).
      NonFiniteGrads: int64 option
      /// Blocks that fell back to a wider format (no rule `run` steps has a fallback yet: Adam-mini's fp8 first moment
      /// will report its bf16 fallbacks here).
      Fallbacks: int64 option }

/// The largest |b - a| over two vectors of one length (0 for empty ones); NaN differences are skipped.
let maxAbsChange (a: Vec) (b: Vec) : float =
    Seq.fold2 (fun m (x: float) (y: float) -> let d = abs (y - x) in if d > m then d else m) 0.0 a b

/// The number of NaN or infinite elements.
let countNonFinite (v: Vec) : int64 = v |> Seq.sumBy (fun x -> if System.Double.IsFinite x then 0L else 1L)

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
      Dtypes: Dtypes
      /// Whether each step is measured (Outcome.Telemetry); off, nothing is timed, copied or counted.
      Telemetry: bool }

/// What a backend returns after the last step.
type Outcome =
    { /// The final parameter values, row-major.
      Param: Vec
      /// Every state buffer by the name the rule gives it (exp_avg, momentum_buffer, ...).
      Buffers: Map<string, Vec>
      /// One reading per step when the request asked for telemetry; empty otherwise.
      Telemetry: StepReading list }

/// How a backend runs Newton–Schulz (Muon, OAdamW's projection), which decides how far it may be from the spec's
/// (NewtonSchulzTolerance).
type NsArithmetic =
    /// The spec's own iteration, in the precision its hyperparameters give (Muon's ns_precision; OAdamW's: float64 for
    /// float32, its bf16 model for bf16).
    | SpecIteration
    /// float32 products and sums (the CPU backend).
    | Float32Iteration
    /// bf16 products with float32 accumulation, as torch.optim.Muon on CUDA.
    | Bf16Iteration
    /// The arithmetic the rule asks for (the cuda backend's cuBLAS): Muon's in bf16 (Bf16Iteration), OAdamW's in its
    /// ns_precision (float32 by default: Float32Iteration; or bf16).
    | RequestedIteration

/// A backend that runs rules.
type Backend =
    { /// The name on the command line (spec, spec-rounded, cpu, cuda, ...).
      Name: string
      /// One line on what it computes in which precision.
      Summary: string
      /// How it keeps a vector in a storage format: rounded to the format's nearest values (the float64 spec keeps it as
      /// it is); a gradient's non-finite elements are counted on what it keeps.
      Store: StorageFormat -> Vec -> Vec
      /// Runs the request; an error says why it cannot (rule not supported, no device, ...).
      Run: Request -> Result<Outcome, string>
      /// How it runs Newton–Schulz.
      NewtonSchulz: NsArithmetic }
