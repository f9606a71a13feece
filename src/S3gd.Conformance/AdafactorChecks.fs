/// Adafactor against the spec (S3gd.Spec.Rules.Adafactor, torch.optim.Adafactor) for every backend: random lists of
/// parameters of rank 0 to 3 (scalars, vectors shorter and longer than a reduction block's threads, matrices, batches of
/// matrices), hyperparameters in range with every clamp reachable (eps1 up to 1e-2 against gradients from 2^-12, eps2
/// up to 1 against parameters from 2^-14, lr above 1/sqrt(t), d up to 3), 1 to 3 steps. Each step is compared with the
/// spec's on the same decoded inputs, with the backend's eps1 (None: float32's), within AdafactorBound's float32 bound
/// plus half an ulp of float32 storage; on a kernel backend every buffer must also equal the CPU twin's bit for bit.
module S3gd.Conformance.AdafactorChecks

open System
open FsCheck
open FsCheck.FSharp
open MathNet.Numerics.LinearAlgebra
open S3gd.Spec.Rules
open S3gd.Gpu
open S3gd.Gpu.Adafactor
open S3gd.Gpu.Elementwise
open S3gd.Conformance.MathBound

/// One case: the configuration, the shapes, the initial parameters and per step the gradients.
type Case = { Config: AdafactorConfig; Shapes: int list list; Params: float32[] list; Grads: float32[] list list }

let private real (lo: float) (hi: float) = Gen.choose (0, 1_000_000) |> Gen.map (fun k -> lo + (hi - lo) * float k / 1e6)

/// Values in [-1, 1] times 2^e for one e per tensor, every 13th exactly zero.
let private values (n: int) (lowest: int) (highest: int) =
    gen {
        let! e = Gen.choose (lowest, highest)
        let! xs = Gen.arrayOfLength n (real -1.0 1.0)
        return xs |> Array.mapi (fun i x -> if i % 13 = 5 then 0.0f else float32 (x * 2.0 ** float e))
    }

/// A shape: a scalar, vectors either side of a reduction block's threads, matrices (single rows and columns included),
/// batches of matrices.
let private shape : Gen<int list> =
    let dim hi = Gen.choose (1, hi)
    Gen.frequency
        [ 1, Gen.constant []
          2, dim 300 |> Gen.map (fun n -> [ n ])
          1, Gen.choose (257, 3000) |> Gen.map (fun n -> [ n ])
          3, Gen.map2 (fun r c -> [ r; c ]) (dim 24) (dim 24)
          1, Gen.map2 (fun r c -> [ r; c ]) (Gen.choose (20, 60)) (Gen.choose (20, 60))
          2, Gen.map3 (fun b r c -> [ b; r; c ]) (dim 3) (dim 10) (dim 10) ]

/// A configuration with every hyperparameter in range.
let private config : Gen<AdafactorConfig> =
    gen {
        let! lr = Gen.frequency [ 3, real 1e-3 0.05; 1, real 0.5 1.0 ]
        let! beta2Decay = real -1.0 -0.3
        let! eps1 = Gen.frequency [ 1, Gen.constant None; 2, Gen.choose (-10, -2) |> Gen.map (fun e -> Some(10.0 ** float e)) ]
        let! eps2 = Gen.frequency [ 2, Gen.constant 1e-3; 1, real 0.0 1.0 ]
        let! d = Gen.frequency [ 1, Gen.constant 1.0; 1, real 1.0 3.0 ]
        let! wd = Gen.frequency [ 1, Gen.constant 0.0; 1, real 0.0 0.5 ]
        let! maximize = Gen.elements [ false; true ]
        return AdafactorConfig(Lr = lr, Beta2Decay = beta2Decay, Eps1 = Option.toNullable eps1, Eps2 = eps2, D = d, WeightDecay = wd, Maximize = maximize)
    }

/// A random case: 1 to 3 tensors, 1 to 3 steps.
let case : Gen<Case> =
    gen {
        let! cfg = config
        let! count = Gen.choose (1, 3)
        let! shapes = Gen.listOfLength count shape
        let lengths = shapes |> List.map (List.fold (*) 1)
        let! ps = lengths |> List.map (fun n -> values n -14 2) |> Gen.sequenceToList
        let! steps = Gen.choose (1, 3)
        let! gs = Gen.listOfLength steps (lengths |> List.map (fun n -> values n -12 4) |> Gen.sequenceToList)
        return { Config = cfg; Shapes = shapes; Params = ps; Grads = gs }
    }

/// The spec's hyperparameters of a configuration.
let hyper (c: AdafactorConfig) : Adafactor.Hyper =
    { Lr = c.Lr; Beta2Decay = c.Beta2Decay; Eps1 = Some c.Eps1Value; Eps2 = c.Eps2; D = c.D; WeightDecay = c.WeightDecay; Maximize = c.Maximize }

/// A case's tensors on a backend: its parameters, zero gradients and zero state.
let private allocate (backend: Backend) (c: Case) =
    List.zip c.Shapes c.Params
    |> List.map (fun (shape, p) ->
        let struct (rowVar, colVar, variance) = backend.AllocateAdafactorState(shape)
        AdafactorTensor(Transfer.uploadFloats backend p, Transfer.uploadFloats backend (Array.zeroCreate p.Length), shape, rowVar, colVar, variance))

let private dispose (tensors: AdafactorTensor list) =
    for t in tensors do
        for b in [ t.Param; t.Grad; t.RowVar; t.ColVar; t.Variance ] do
            if not (isNull b) then b.Dispose()

let private floats (backend: Backend) (b: DeviceBuffer) = if isNull b then [||] else backend.Download<float32> b |> Array.map float
let private vec (xs: float[]) = Vector<float>.Build.DenseOfArray xs

/// The first element outside the bound plus half a float32 ulp, described.
let private compare (what: string) (got: float[]) (want: float[]) (bound: Bounded[]) =
    Seq.init got.Length id
    |> Seq.tryFind (fun i ->
        not (ElementwiseChecks.bothNaN got[i] want[i] || abs (got[i] - want[i]) <= ElementwiseChecks.allowed StateFormat.Fp32 1.0 want[i] bound[i].E))
    |> Option.map (fun i -> sprintf "%s element %d: %.9g, the spec %.9g, allowed %.3g" what i got[i] want[i] (ElementwiseChecks.allowed StateFormat.Fp32 1.0 want[i] bound[i].E))

/// One tensor's step against the spec, from what the backend held before it (p, g, state) and after it.
let private checkTensor (c: AdafactorConfig) (sc: AdafactorScalars) (step: int) (t: AdafactorTensor) (p0: float[]) (g: float[]) (a0: float[], b0: float[]) (p1: float[]) (a1: float[], b1: float[]) =
    let shape = List.ofSeq t.Shape
    let factors = Adafactor.factors shape
    let state: Adafactor.State =
        { Step = step - 1; Moments = (if factors.IsSome then Adafactor.Factored(vec a0, vec b0) else Adafactor.Unfactored(vec a0)) }
    let pSpec, sSpec = Adafactor.stepWith (hyper c) c.Eps1Value shape state (vec g) (vec p0)
    let rowBound, colBound, v = AdafactorBound.moments sc factors g a0 b0
    let pBound = AdafactorBound.parameters sc c.D p0 (AdafactorBound.updates sc g v)
    let stateChecks =
        match sSpec.Moments with
        | Adafactor.Factored(r, cv) -> [ compare "row_var" a1 (r.ToArray()) rowBound; compare "col_var" b1 (cv.ToArray()) colBound ]
        | Adafactor.Unfactored var -> [ compare "variance" a1 (var.ToArray()) rowBound ]
    stateChecks @ [ compare "param" p1 (pSpec.ToArray()) pBound ] |> List.tryPick id

/// A tensor's state as (row_var or variance, col_var or empty).
let private state (backend: Backend) (t: AdafactorTensor) =
    if t.Factored then floats backend t.RowVar, floats backend t.ColVar else floats backend t.Variance, [||]

/// Runs a case on a backend, comparing every step of every tensor with the spec; returns the failures (empty: passed).
let runCase (backend: Backend) (c: Case) : string list =
    let tensors = allocate backend c
    let failures = ResizeArray<string>()
    try
        use plan = backend.PlanAdafactor(c.Config, tensors)
        c.Grads |> List.iteri (fun s grads ->
            if failures.Count = 0 then
                List.iter2 (fun (t: AdafactorTensor) (g: float32[]) -> backend.Upload<float32>(t.Grad, ReadOnlySpan g)) tensors grads
                let before = tensors |> List.map (fun t -> floats backend t.Param, floats backend t.Grad, state backend t)
                plan.Step(s + 1)
                let sc = AdafactorScalars.For(c.Config, s + 1)
                List.zip tensors before |> List.iteri (fun i (t, (p0, g, s0)) ->
                    if failures.Count = 0 then
                        checkTensor c.Config sc (s + 1) t p0 g s0 (floats backend t.Param) (state backend t)
                        |> Option.iter (fun f -> failures.Add(sprintf "step %d tensor %d (shape %A): %s" (s + 1) i (List.ofSeq t.Shape) f))))
    finally
        dispose tensors
    failures |> Seq.map (fun f -> Checks.failureLabel f c) |> List.ofSeq

/// Every step of random cases within the bound of the spec.
let stepMatchesSpec : Checks.Check =
    { Property = "adafactor step = spec"
      Format = None
      AppliesTo = fun _ -> true
      Run = fun config backend ->
          Check.One(config, Prop.forAll (Arb.fromGen case) (fun c -> let f = runCase backend c in List.isEmpty f |> Prop.label (String.Join("; ", f)))) }

/// Steps a case and returns every buffer's final float32 bits.
let private finalBits (backend: Backend) (c: Case) : uint32[] list =
    let tensors = allocate backend c
    try
        use plan = backend.PlanAdafactor(c.Config, tensors)
        c.Grads |> List.iteri (fun s grads ->
            List.iter2 (fun (t: AdafactorTensor) (g: float32[]) -> backend.Upload<float32>(t.Grad, ReadOnlySpan g)) tensors grads
            plan.Step(s + 1))
        [ for t in tensors do
              for b in [ t.Param; t.RowVar; t.ColVar; t.Variance ] do
                  if not (isNull b) then yield backend.Download<uint32> b ]
    finally
        dispose tensors

/// The CPU backend, the kernels' twin, gives the same bits as the backend under test (NaNs aside).
let cpuTwin : Checks.Check =
    { Property = "adafactor CPU twin, bit for bit"
      Format = None
      AppliesTo = fun backend -> backend.Kind <> BackendKind.Cpu
      Run = fun config backend ->
          use cpu = new Cpu.CpuBackend()
          let property (c: Case) =
              let mismatch =
                  List.zip (finalBits cpu c) (finalBits backend c)
                  |> List.indexed
                  |> List.tryPick (fun (b, (e, a)) ->
                      Array.zip e a
                      |> Array.tryFindIndex (fun (x, y) -> x <> y && not (Single.IsNaN(BitConverter.UInt32BitsToSingle x) && Single.IsNaN(BitConverter.UInt32BitsToSingle y)))
                      |> Option.map (fun i -> sprintf "buffer %d element %d: CPU 0x%08x, %O 0x%08x" b i e[i] backend.Kind a[i]))
              Option.isNone mismatch |> Prop.label (Checks.failureLabel (defaultArg mismatch "") c)
          Check.One(config, Prop.forAll (Arb.fromGen case) property) }

/// Every Adafactor check.
let all : Checks.Check list = [ stepMatchesSpec; cpuTwin ]
