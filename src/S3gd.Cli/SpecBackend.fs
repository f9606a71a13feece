/// The spec as backends: `spec` steps the float64 rule as it is; `spec-rounded` rounds the parameter,
/// the gradients and every state buffer to the requested storage formats after every step, which is what
/// a backend storing in those formats must match.
module S3gd.Cli.SpecBackend

open System.Diagnostics
open S3gd.Spec.Formats
open S3gd.Spec.Rules
open S3gd.Cli.Backend

/// Runs the rule for the requested steps, passing the initial parameter, each gradient, and the parameter
/// and state after every step through `keep` (how the backend stores a value in a format). With telemetry, each step
/// is timed on the host's clock and measured exactly on the stored values: the largest parameter change and the
/// gradient's non-finite elements (no fallbacks: the spec has none).
let private stepWith (keep: StorageFormat -> Vec -> Vec) (r: Request) : Result<Outcome, string> =
    let keepState (s: NamedState) = { s with Buffers = s.Buffers |> Map.map (fun _ b -> keep r.Dtypes.State b) }
    r.Rule.Create r.Hypers
    |> Result.map (fun rule ->
        let param = { r.Param with Value = keep r.Dtypes.Param r.Param.Value }
        let readings = ResizeArray<StepReading>()
        let final, state =
            Seq.fold
                (fun (p: Param, s: NamedState) (step: int, g: Vec) ->
                    let g = keep r.Dtypes.Grad g
                    let watch = if r.Telemetry then Stopwatch.StartNew() else null
                    let p', s' = rule.Step s g p
                    let next = { p with Value = keep r.Dtypes.Param p' }, keepState s'
                    if r.Telemetry then
                        readings.Add
                            { Step = step; Milliseconds = watch.Elapsed.TotalMilliseconds; MaxAbsUpdate = Some(maxAbsChange p.Value (fst next).Value)
                              NonFiniteGrads = Some(countNonFinite g); Fallbacks = None }
                    next)
                (param, keepState (rule.Init param))
                (Seq.take r.Steps r.Grads |> Seq.indexed |> Seq.map (fun (i, g) -> i + 1, g))
        { Param = final.Value; Buffers = state.Buffers; Telemetry = List.ofSeq readings })

/// Every element rounded to the nearest value of the storage format.
let roundTo (format: StorageFormat) (v: Vec) : Vec = v.Map(fun x -> StorageFormat.round format x)

/// Keeps every value as it is: the float64 spec ignores storage formats.
let private asIs (_: StorageFormat) (v: Vec) = v

/// The float64 spec, dtypes ignored.
let spec: Backend =
    { Name = "spec"; Summary = "the float64 specification (dtypes ignored)"; Store = asIs; Run = stepWith asIs; NewtonSchulz = SpecIteration }

/// The float64 spec with the parameter, gradients and state rounded to their storage formats after every step.
let specRounded: Backend =
    { Name = "spec-rounded"
      Summary = "the float64 specification, parameter, gradients and state rounded to their dtypes after every step"
      Store = roundTo
      Run = stepWith roundTo
      NewtonSchulz = SpecIteration }
