/// OAdamW's matrix path (Backend.PlanOAdamWProjection) against the spec's MuonProjector (S3gd.Spec.Rules.OAdamW.project)
/// for every backend: random lists of matrices (shapes 1 x 1 to 40 x 40, some sharing a shape), ns_steps, scale,
/// update_proj_gap and the precision (float32, the default, or bf16) in range, 1 to 4 steps. A step recomputes exactly
/// where the spec's does; then every output is within scale times MuonBound's Newton–Schulz bound (float32 on every
/// backend, bf16 where a kernel backend is asked for bf16, against the spec's iterations with X / (||X||_F + eps)) plus
/// the float32 rounding of the scaling; in between, the outputs keep their bits.
module S3gd.Conformance.OAdamWChecks

open System
open FsCheck
open FsCheck.FSharp
open MathNet.Numerics.LinearAlgebra
open S3gd.Spec.Rules
open S3gd.Gpu
open S3gd.Gpu.Muon

/// One case: the matrix-path keys, the shapes and per step the gradients.
type Case = { Config: OAdamWMatrixConfig; Shapes: (int * int) list; Grads: float32[] list list }

let private real (lo: float) (hi: float) = Gen.choose (0, 1_000_000) |> Gen.map (fun k -> lo + (hi - lo) * float k / 1e6)

let private shape = Gen.zip (Gen.choose (1, 40)) (Gen.choose (1, 40))

/// A random case: 1 to 4 matrices, a drawn shape repeated half of the time, 1 to 4 steps.
let case : Gen<Case> =
    gen {
        let! first = shape
        let! count = Gen.choose (1, 4)
        let! shapes = Gen.listOfLength count (Gen.frequency [ 1, Gen.constant first; 1, shape ])
        let! steps = Gen.choose (1, 4)
        let! nsSteps = Gen.choose (1, 5)
        let! gap = Gen.choose (1, 3)
        let! scale = Gen.frequency [ 1, Gen.constant 1.0; 2, real 0.25 4.0 ]
        let! precision = Gen.frequency [ 2, Gen.constant NsPrecision.Float32; 1, Gen.constant NsPrecision.BFloat16 ]
        let matrix (r, c) = Gen.arrayOfLength (r * c) (real -1.0 1.0 |> Gen.map float32)
        let! grads = Gen.listOfLength steps (shapes |> List.map matrix |> Gen.sequenceToList)
        return
            { Config = OAdamWMatrixConfig(NsSteps = nsSteps, UpdateProjGap = gap, Scale = scale, Precision = precision); Shapes = shapes
              Grads = grads }
    }

/// float32's unit roundoff.
let private u32 = 2.0 ** -24.0

/// The spec's hyperparameters of a projection configuration (ns_steps, scale, and its iteration for the precision).
let specHyper (config: OAdamWMatrixConfig) : OAdamW.Hyper =
    let precision = if config.Precision = NsPrecision.BFloat16 then NewtonSchulz.Bf16 else NewtonSchulz.Float64
    { OAdamW.defaults with NsSteps = config.NsSteps; Scale = config.Scale; NsPrecision = precision }

/// The spec's projection scale * NS(g) of a rows x cols gradient (its float64 iteration for float32, its bf16 model for
/// bf16), and per element how far a backend's may be from it: scale times MuonBound's Newton–Schulz bound against the
/// spec's iterations with X / (||X||_F + eps) (bf16 from the model where a kernel backend iterates in bf16; float32 from
/// the float64 iteration otherwise, plus the model's distance from it where the spec's projection is the model while
/// the CPU iterates in float32), plus the float32 rounding of the scaling.
let projectionBound (backend: Backend) (h: OAdamW.Hyper) (rows: int, cols: int) (g: float[]) : float[] * (int -> float) =
    let gv = Vector<float>.Build.DenseOfArray g
    let expected = OAdamW.project h [ rows; cols ] gv |> Seq.toArray
    let ns precision =
        NewtonSchulz.orthogonalize precision NewtonSchulz.AddEps NewtonSchulz.quintic h.NsSteps OAdamW.projectorEps (NewtonSchulz.toMatrix rows cols gv)
        |> NewtonSchulz.ofMatrix |> Seq.toArray
    let exact, model = ns NewtonSchulz.Float64, ns NewtonSchulz.Bf16
    let specIsModel = h.NsPrecision = NewtonSchulz.Bf16
    let nsBound =
        if specIsModel && backend.Kind <> BackendKind.Cpu then MuonBound.bf16 model exact
        else MuonBound.float32 model exact + (if specIsModel then Array.fold2 (fun m a b -> max m (abs (a - b))) 0.0 model exact else 0.0)
    // scale * x rounds once in float32.
    expected, fun i -> h.Scale * nsBound + u32 * (abs expected[i] + h.Scale * nsBound)

/// The failures of one output against the spec's projection of its gradient.
let private compare (backend: Backend) (config: OAdamWMatrixConfig) (step: int) (k: int) (rows: int, cols: int) (g: float32[]) (actual: float32[]) =
    let expected, allowed = projectionBound backend (specHyper config) (rows, cols) (Array.map float g)
    Seq.init actual.Length id
    |> Seq.tryFind (fun i -> not (abs (float actual[i] - expected[i]) <= allowed i))
    |> Option.map (fun i ->
        sprintf "step %d, matrix %d (%d x %d), output[%d]: %g, the spec gives %g (error %g, allowed %g)"
            step k rows cols i actual[i] expected[i] (abs (float actual[i] - expected[i])) (allowed i))

/// Runs a case on a backend; returns the failures.
let run (backend: Backend) (c: Case) : string list =
    let gs = c.Shapes |> List.map (fun (r, cl) -> backend.Allocate(ElementType.Float32, int64 (r * cl)))
    let outs = c.Shapes |> List.map (fun (r, cl) -> backend.AllocateMuonMomentum(int64 (r * cl)))
    try
        let tensors = List.map3 (fun g o (r, cl) -> OAdamWProjection(g, o, r, cl)) gs outs c.Shapes |> List.toArray
        use plan = backend.PlanOAdamWProjection(c.Config, tensors)
        c.Grads
        |> List.mapi (fun i grads ->
            let step = i + 1
            List.iter2 (fun (g: DeviceBuffer) (xs: float32[]) -> backend.Upload<float32>(g, ReadOnlySpan xs)) gs grads
            let before = outs |> List.map backend.Download<float32>
            let fresh = plan.Step step
            let after = outs |> List.map backend.Download<float32>
            if fresh <> c.Config.Projects(step, step > 1) then
                [ sprintf "step %d: recomputed %b, the spec recomputes %b" step fresh (not fresh) ]
            elif not fresh then
                List.zip before after
                |> List.indexed
                |> List.choose (fun (k, (b, a)) ->
                    Array.tryFindIndex id (Array.map2 (fun (x: float32) (y: float32) -> BitConverter.SingleToUInt32Bits x <> BitConverter.SingleToUInt32Bits y) b a)
                    |> Option.map (fun e -> sprintf "step %d kept the projection but matrix %d element %d changed" step k e))
            else
                List.zip3 c.Shapes grads after |> List.indexed |> List.choose (fun (k, (s, g, a)) -> compare backend c.Config step k s g a))
        |> List.concat
    finally
        for b in gs @ outs do b.Dispose()

/// The projection on the backend agrees with the spec's MuonProjector within MuonBound and recomputes where the spec does.
let matchesSpec : Checks.Check =
    { Property = "oadamw projection = spec"
      Format = None
      AppliesTo = fun _ -> true
      Run = fun config backend ->
          Check.One(config, Prop.forAll (Arb.fromGen case) (fun c ->
              let failures = run backend c
              List.isEmpty failures
              |> Prop.label (sprintf "shapes %A, ns_steps %d, gap %d, scale %g, %O: %s" c.Shapes c.Config.NsSteps c.Config.UpdateProjGap c.Config.Scale c.Config.Precision
                                 (String.Join("; ", List.truncate 3 failures))))) }

/// Every OAdamW check.
let all : Checks.Check list = [ matchesSpec ]
