/// Muon against the spec (S3gd.Spec.Rules.Muon, torch.optim.Muon) for every backend: random lists of 2-D parameters
/// (shapes 1 x 1 to 40 x 40, tall, wide and square, some sharing a shape so that groups are batched), hyperparameters in
/// range, 1 to 3 steps. Each step is compared with the spec's step on the same decoded inputs the backend held before
/// it: the momentum buffer within float32 roundings, the parameter within lr' times the Newton–Schulz bound
/// (MuonBound: float32 on the CPU against the exact iteration, bf16 on the kernel backends, CUDA and ilgpu-cpu, against
/// the spec's bf16 model) plus the float32 roundings of the update. On a kernel backend, the momentum buffers must also
/// equal the CPU twin's bit for bit.
module S3gd.Conformance.MuonChecks

open System
open FsCheck
open FsCheck.FSharp
open MathNet.Numerics.LinearAlgebra
open S3gd.Spec.Rules
open S3gd.Gpu
open S3gd.Gpu.Muon

/// float32's unit roundoff.
let private u32 = 2.0 ** -24.0

/// One case: the configuration, the shapes, per step the gradients, and the initial parameters.
type Case =
    { Config: MuonConfig
      Shapes: (int * int) list
      Params: float32[] list
      Grads: float32[] list list }

let private real (lo: float) (hi: float) = Gen.choose (0, 1_000_000) |> Gen.map (fun k -> lo + (hi - lo) * float k / 1e6)

/// Values in [-1, 1] times 2^e for one e in [-12, 4] per matrix (Newton–Schulz is scale-free; the momentum is not).
let private matrix (rows: int) (cols: int) =
    gen {
        let! e = Gen.choose (-12, 4)
        let! xs = Gen.arrayOfLength (rows * cols) (real -1.0 1.0)
        return xs |> Array.map (fun x -> float32 (x * 2.0 ** float e))
    }

let private shape = Gen.zip (Gen.choose (1, 40)) (Gen.choose (1, 40))

/// A random case: 1 to 4 matrices, a drawn shape repeated half of the time.
let case : Gen<Case> =
    gen {
        let! first = shape
        let! count = Gen.choose (1, 4)
        let! shapes = Gen.listOfLength count (Gen.frequency [ 1, Gen.constant first; 1, shape ])
        let! steps = Gen.choose (1, 3)
        let! lr = real 1e-4 0.05
        let! wd = Gen.frequency [ 1, Gen.constant 0.0; 2, real 0.0 0.2 ]
        let! momentum = real 0.5 0.99
        let! nesterov = Gen.elements [ false; true ]
        let! nsSteps = Gen.choose (1, 5)
        let! adjust = Gen.elements [ MuonLrAdjust.Original; MuonLrAdjust.MatchRmsAdamW ]
        let! coefficients = Gen.frequency [ 3, Gen.constant NewtonSchulz.quintic; 1, Gen.constant NewtonSchulz.cubic ]
        let! ps = shapes |> List.map (fun (r, c) -> matrix r c) |> Gen.sequenceToList
        let! gs = Gen.listOfLength steps (shapes |> List.map (fun (r, c) -> matrix r c) |> Gen.sequenceToList)
        let config =
            MuonConfig(Lr = lr, WeightDecay = wd, Momentum = momentum, Nesterov = nesterov, NsSteps = nsSteps, AdjustLr = adjust,
                       A = coefficients.A, B = coefficients.B, C = coefficients.C)
        return { Config = config; Shapes = shapes; Params = ps; Grads = gs }
    }

/// The spec's hyperparameters for a configuration, Newton–Schulz in `precision`.
let hyper (config: MuonConfig) (precision: NewtonSchulz.Precision) : Muon.Hyper =
    { Lr = config.Lr; WeightDecay = config.WeightDecay; Momentum = config.Momentum; Nesterov = config.Nesterov
      NsCoefficients = { A = config.A; B = config.B; C = config.C }; Eps = config.Eps; NsSteps = config.NsSteps
      AdjustLrFn = (if config.AdjustLr = MuonLrAdjust.Original then "original" else "match_rms_adamw")
      NsPrecision = precision }

let private vec (xs: float32[]) = Vector<float>.Build.DenseOfArray(Array.map float xs)

/// The spec's NS of the step's update (what the parameter moves along), from the decoded state before the step.
let private specOrthogonal (h: Muon.Hyper) (rows: int, cols: int) (buf: float32[]) (g: float32[]) (precision: NewtonSchulz.Precision) =
    let b = Elementwise.lerp (vec buf) (vec g) (1.0 - h.Momentum)
    let u = if h.Nesterov then Elementwise.lerp (vec g) b h.Momentum else b
    NewtonSchulz.orthogonalize precision NewtonSchulz.MaxEps h.NsCoefficients h.NsSteps h.Eps (NewtonSchulz.toMatrix rows cols u)
    |> NewtonSchulz.ofMatrix
    |> Seq.toArray

/// The allowed distance of each updated element of one matrix from the spec, and the spec's parameter and buffer.
let private expected (backend: Backend) (config: MuonConfig) (rows: int, cols: int) (p: float32[]) (buf: float32[]) (g: float32[]) =
    let h64 = hyper config NewtonSchulz.Float64
    let p', s' = Muon.step (hyper config (if backend.Kind = BackendKind.Cpu then NewtonSchulz.Float64 else NewtonSchulz.Bf16)) (rows, cols) { MomentumBuffer = vec buf } (vec g) (vec p)
    let exact = specOrthogonal h64 (rows, cols) buf g NewtonSchulz.Float64
    let model = specOrthogonal h64 (rows, cols) buf g NewtonSchulz.Bf16
    let nsBound = if backend.Kind = BackendKind.Cpu then MuonBound.float32 model exact else MuonBound.bf16 model exact
    let adjusted = Muon.adjustLr h64 rows cols
    // The update p*decay - lr'*o rounds the decay factor, the product, lr'*o and the difference: 4 roundings of float32.
    let allowed i = adjusted * nsBound + 4.0 * u32 * (abs (float p[i]) + adjusted * abs exact[i]) + u32 * adjusted * nsBound
    // lerp in float32: the difference, the product and the sum each round once; Nesterov's second lerp is not stored.
    let bufAllowed i = 4.0 * u32 * (abs (float buf[i]) + abs (float g[i]))
    p', s'.MomentumBuffer, allowed, bufAllowed

/// Runs a case on a backend: per step the checks against the spec; returns the failures and the final buffers.
let run (backend: Backend) (c: Case) : string list * float32[] list =
    let upload (xs: float32[]) = Transfer.uploadFloats backend xs
    let ps = c.Params |> List.map upload
    let bufs = c.Shapes |> List.map (fun (r, cl) -> backend.AllocateMuonMomentum(int64 (r * cl)))
    let gs = c.Shapes |> List.map (fun (r, cl) -> backend.Allocate(ElementType.Float32, int64 (r * cl)))
    try
        let tensors = List.zip3 (List.zip ps gs) bufs c.Shapes |> List.map (fun ((p, g), b, (r, cl)) -> MuonTensor(p, g, b, r, cl)) |> List.toArray
        use plan = backend.PlanMuon(c.Config, tensors)
        let failures =
            c.Grads
            |> List.mapi (fun step grads ->
                List.iter2 (fun (g: DeviceBuffer) (xs: float32[]) -> backend.Upload<float32>(g, ReadOnlySpan xs)) gs grads
                let before = tensors |> Array.map (fun t -> backend.Download<float32> t.Param, backend.Download<float32> t.MomentumBuffer)
                plan.Step()
                tensors
                |> Array.mapi (fun k t ->
                    let p, buf = before[k]
                    let g = grads[k]
                    let p', buf', allowed, bufAllowed = expected backend c.Config (t.Rows, t.Cols) p buf g
                    let actualP = backend.Download<float32> t.Param
                    let actualB = backend.Download<float32> t.MomentumBuffer
                    let bad (actual: float32[]) (spec: Vector<float>) (bound: int -> float) =
                        Seq.init actual.Length id |> Seq.tryFind (fun i -> not (abs (float actual[i] - spec[i]) <= bound i))
                    let describe what (actual: float32[]) (spec: Vector<float>) (bound: int -> float) i =
                        sprintf "step %d, matrix %d (%d x %d), %s[%d]: %g, the spec gives %g (error %g, allowed %g)"
                            (step + 1) k t.Rows t.Cols what i actual[i] spec[i] (abs (float actual[i] - spec[i])) (bound i)
                    [ bad actualB buf' bufAllowed |> Option.map (describe "momentum_buffer" actualB buf' bufAllowed)
                      bad actualP p' allowed |> Option.map (describe "param" actualP p' allowed) ]
                    |> List.choose id)
                |> List.concat)
            |> List.concat
        failures, tensors |> Array.map (fun t -> backend.Download<float32> t.MomentumBuffer) |> Array.toList
    finally
        for b in ps @ bufs @ gs do b.Dispose()

let private describeCase (c: Case) =
    sprintf "shapes %A, %d steps, lr %g, wd %g, momentum %g, nesterov %b, ns_steps %d, (a, b, c) = (%g, %g, %g), %O"
        c.Shapes c.Grads.Length c.Config.Lr c.Config.WeightDecay c.Config.Momentum c.Config.Nesterov c.Config.NsSteps
        c.Config.A c.Config.B c.Config.C c.Config.AdjustLr

/// Muon steps on the backend agree with the spec within MuonBound.
let matchesSpec : Checks.Check =
    { Property = "muon = spec"
      Format = None
      AppliesTo = fun _ -> true
      Run = fun config backend ->
          Check.One(config, Prop.forAll (Arb.fromGen case) (fun c ->
              let failures, _ = run backend c
              List.isEmpty failures |> Prop.label (describeCase c + ": " + String.Join("; ", failures |> List.truncate 3)))) }

/// On a kernel backend the momentum buffers equal the CPU twin's bit for bit (the same float32 lerp).
let cpuTwin : Checks.Check =
    { Property = "muon momentum: CPU twin, bit for bit"
      Format = None
      AppliesTo = fun backend -> backend.Kind <> BackendKind.Cpu
      Run = fun config backend ->
          use cpu = new Cpu.CpuBackend()
          Check.One(config, Prop.forAll (Arb.fromGen case) (fun c ->
              let _, ours = run backend c
              let twin = snd (run cpu c)
              let mismatch =
                  List.zip ours twin
                  |> List.indexed
                  |> List.tryPick (fun (k, (a, b)) ->
                      Array.tryFindIndex id (Array.map2 (fun (x: float32) (y: float32) -> BitConverter.SingleToUInt32Bits x <> BitConverter.SingleToUInt32Bits y) a b)
                      |> Option.map (fun i -> sprintf "matrix %d element %d: %O gives %g, the CPU %g" k i backend.Kind a[i] b[i]))
              Option.isNone mismatch |> Prop.label (describeCase c + ": " + defaultArg mismatch ""))) }

/// Every Muon check.
let all : Checks.Check list = [ matchesSpec; cpuTwin ]
