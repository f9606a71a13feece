/// The fused elementwise step against the spec, for every backend: random tensor lists (lengths 1, odd, not multiples
/// of the vector width, the block size or the chunk), hyperparameters in range and every dtype combination, stepped
/// 1 to 4 times. Each step is compared with the spec rule (S3gd.Spec.Rules.Registry) evaluated in float64 on the
/// same decoded inputs the backend held before the step, within `ElementwiseChecks.allowed`.
module S3gd.Conformance.ElementwiseChecks

open System
open FsCheck
open FsCheck.FSharp
open MathNet.Numerics.LinearAlgebra
open S3gd.Spec.Formats
open S3gd.Spec.Rules
open S3gd.Gpu
open S3gd.Gpu.Elementwise
open S3gd.Conformance.MathBound

/// The error allowed between a stored element and the spec's value: the maths bound, then half an ulp of the storage
/// format at the value (block-scaled: of the fp8 format at value/scale, times the stored power-of-two scale; the scaling's
/// products are exact, and the scale keeps value/scale within the format, so this holds whichever scale the block
/// chose, up to a factor 2 coarser than absmax/max_finite). In ulps of the storage format this is 1/2 plus the maths
/// bound converted to ulps: the one tolerance every elementwise property uses.
let allowed (format: StateFormat) (scale: float) (expected: float) (mathBound: float) =
    let magnitude = abs expected + mathBound
    if format.BlockScaled then mathBound + 0.5 * scale * StorageFormat.ulp format.Storage (magnitude / scale)
    else mathBound + 0.5 * StorageFormat.ulp format.Storage magnitude

/// The error in ulps of the storage format (for messages).
let ulps (format: StateFormat) (scale: float) (expected: float) (error: float) =
    let unit = if format.BlockScaled then scale * StorageFormat.ulp format.Storage (abs expected / scale) else StorageFormat.ulp format.Storage expected
    error / unit

/// Both NaN: a stored state that breaks an invariant (RMSprop's square_avg below grad_avg^2 after fp8 rounding) gives
/// the spec a NaN as well.
let bothNaN (a: float) (b: float) = Double.IsNaN a && Double.IsNaN b

/// Agreeing as far as NaN goes: both NaN, or a NaN on one side where the bound says either side may be NaN (a root of
/// an argument within rounding of zero).
let nanAgrees (bound: Bounded) (a: float) (b: float) = bothNaN a b || (bound.MayBeNaN && (Double.IsNaN a || Double.IsNaN b))

// ---- generators ----

let private real (lo: float) (hi: float) = Gen.choose (0, 1_000_000) |> Gen.map (fun k -> lo + (hi - lo) * float k / 1e6)
let private orZero (g: Gen<float>) = Gen.frequency [ 1, Gen.constant 0.0; 2, g ]
let private flag = Gen.elements [ false; true ]

/// One hyperparameter's value: its default, 0 where the range it is typically set in starts at 0, or a draw from that
/// range (`HyperDef.Typical`); a flag either way; a word its default.
let private value (d: HyperDef) : Gen<HyperValue> =
    let typical, zero =
        match d.Typical with
        | Some(low, high) ->
            let draw = match d.Default with Whole _ -> Gen.choose (int low, int high) |> Gen.map Whole | _ -> real low high |> Gen.map Real
            [ 2, draw ], (if low <= 0.0 then [ 1, Gen.constant (match d.Default with Whole _ -> Whole 0 | _ -> Real 0.0) ] else [])
        | None -> [], []
    match d.Default with
    | Flag _ -> flag |> Gen.map Flag
    | Word _ -> Gen.constant d.Default
    | _ -> Gen.frequency ([ 1, Gen.constant d.Default ] @ zero @ typical)

/// A rule's registry entry by name.
let ruleInfo (name: string) =
    match Registry.find name with
    | Ok r -> r
    | Error e -> invalidArg (nameof name) e

/// Hyperparameters of an elementwise rule, each drawn by `value` from its spec definition; combinations the rule or its
/// fused kernel rejects (out of range, sgd's nesterov without momentum, ...) are drawn again.
let hypers (rule: string) : Gen<Hypers> =
    let info = ruleInfo rule
    let accepted (h: Hypers) =
        try
            ElementwiseConfig(info, h) |> ignore
            true
        with :? ArgumentException -> false
    info.Hypers
    |> List.map (fun d -> value d |> Gen.map (fun v -> d.Name, v))
    |> Gen.sequenceToList
    |> Gen.map Map.ofList
    |> Gen.filter accepted

/// The longest tensor of a generated case: 150000 elements (many chunks), 9000 where the kernels are emulated
/// (`Checks.emulated`: still five chunks of the elementwise kernel).
let longest (backend: Backend) = if Checks.emulated backend then 9000 else 150000

/// Tensor lengths up to `largest`: 1, odd, around the vector width (8), the scale block (128) and the chunk (2048),
/// and larger.
let length (largest: int) : Gen<int> =
    Gen.frequency
        [ 2, Gen.constant 1
          3, Gen.choose (0, 200) |> Gen.map (fun n -> 2 * n + 1)
          2, Gen.elements [ 7; 8; 9; 127; 128; 129; 2047; 2048; 2049; 4095; 4096; 4097; 8193 ]
          2, Gen.choose (2, min 20000 largest)
          1, Gen.choose (min 20001 largest, largest) ]

/// Lengths of a case's 1 to `most` tensors: in half the cases every length rounded up to a multiple of the vector width
/// (8), so that the GPU runs its whole-groups kernel (`Kernels.ElementwiseRow.Whole`: no element-by-element moves).
let lengths (most: int) (largest: int) : Gen<int list> =
    gen {
        let! count = Gen.choose (1, most)
        let! lengths = Gen.listOfLength count (length largest)
        let! whole = Gen.elements [ false; true ]
        let vec = ElementwiseLayout.Vec
        return if whole then lengths |> List.map (fun n -> (n + vec - 1) / vec * vec) else lengths
    }

/// Float32 values of magnitude up to `scale`, with exact zeros now and then.
let private values (scale: float) (n: int) : Gen<float32[]> =
    Gen.arrayOfLength n (Gen.frequency [ 1, Gen.constant 0.0; 12, real -1.0 1.0 ] |> Gen.map (fun v -> float32 (v * scale)))

/// One case: hypers, formats of param/grad/maths, tensor lengths, steps, grad scale (a power of two: exact), and the
/// GPU launch layout (results must not depend on it; the CPU ignores it).
type Case =
    { Hypers: Hypers; Param: StorageFormat; Grad: StorageFormat; Math: StorageFormat; Lengths: int list; Steps: int; GradScale: float; Seed: int
      Launch: ElementwiseLaunch }

/// The steps of a case: 1 to 4.
let private fewSteps = (1, 4)

/// A case of a rule stepped `firstStep` to `lastStep` times (drawn).
let private caseOver (firstStep: int, lastStep: int) (rule: string) (gradScale: bool) (largest: int) : Gen<Case> =
    gen {
        let! h = hypers rule
        let! p = Gen.elements [ Fp32; Bf16 ]
        let! g = Gen.elements [ Fp32; Bf16 ]
        let! m = Gen.elements [ Fp32; Bf16 ]
        let! lengths = lengths 3 largest
        let! steps = Gen.choose (firstStep, lastStep)
        let! k = Gen.choose (0, 16)
        let! seed = Gen.choose (0, Int32.MaxValue)
        let! launch = Gen.elements (ElementwiseLaunch.Default :: List.ofSeq ElementwiseLaunch.Candidates)
        return { Hypers = h; Param = p; Grad = g; Math = m; Lengths = lengths; Steps = steps; GradScale = (if gradScale then Math.Pow(2.0, float k) else 1.0)
                 Seed = seed; Launch = launch }
    }

/// A case of a rule stepped 1 to 4 times.
let private case = caseOver fewSteps

// ---- running a case ----

/// A buffer's elements decoded to float64, as the kernel sees them (block-scaled: code value times its power-of-two scale).
let decode (backend: Backend) (format: StorageFormat) (buffer: DeviceBuffer) (scales: DeviceBuffer option) : float[] =
    let codes = Transfer.downloadCodes backend buffer
    match scales with
    | Some s ->
        let block = { Format = format; BlockSize = ElementwiseLayout.ScaleBlock; Codes = Array.map byte codes; Exponents = backend.Download<byte> s }
        BlockScaled.decode block |> Array.map float
    | None -> codes |> Array.map (StorageFormat.decode format)

/// Uploads float32 values encoded in a format (each rounded to nearest).
let upload (backend: Backend) (format: StorageFormat) (xs: float32[]) : DeviceBuffer =
    Transfer.uploadCodes backend (ElementTypes.FromFormat format) (xs |> Array.map (fun x -> StorageFormat.encode format (float x)))

/// Overwrites a buffer with float32 values encoded in its format.
let overwrite (backend: Backend) (format: StorageFormat) (buffer: DeviceBuffer) (xs: float32[]) =
    let codes = xs |> Array.map (fun x -> StorageFormat.encode format (float x))
    match StorageFormat.size format with
    | 4 -> backend.Upload<uint32>(buffer, ReadOnlySpan codes)
    | 2 -> backend.Upload<uint16>(buffer, ReadOnlySpan(Array.map uint16 codes))
    | _ -> backend.Upload<byte>(buffer, ReadOnlySpan(Array.map byte codes))

/// Runs a case on a backend and compares every step with the spec; returns the failures (empty: passed).
let runCase (backend: Backend) (rule: RuleInfo) (state: StateFormat) (c: Case) : string list =
    let config = ElementwiseConfig(rule, c.Hypers, c.Param, c.Grad, c.Math, [| state |], gradScale = (c.GradScale <> 1.0))
    let specRule =
        match Hyper.resolve rule.Hypers c.Hypers |> Result.bind rule.Create with
        | Ok r -> r
        | Error e -> invalidArg (nameof c) e
    let rnd = Random c.Seed
    let gen n (scale: float) = Array.init n (fun i -> if i % 17 = 3 then 0.0f else float32 ((rnd.NextDouble() * 2.0 - 1.0) * scale))
    let tensors =
        c.Lengths
        |> List.map (fun n ->
            let p = upload backend c.Param (gen n 1.0)
            let g = upload backend c.Grad (gen n 1.0)
            let struct (states, scales) = backend.AllocateElementwiseState(config, int64 n)
            ElementwiseTensor(p, g, states, scales))
    let slotNames = config.SlotNames
    let stepBound = MathBound.step config
    let failures = ResizeArray<string>()
    try
        use plan = backend.PlanElementwise(config, tensors, launch = c.Launch)
        for step in 1 .. c.Steps do
            // Fresh gradients each step, in magnitudes from 1e-3 to 10.
            let gradScale = Math.Pow(10.0, float (rnd.Next(-3, 2)))
            tensors |> List.iter (fun t -> overwrite backend c.Grad t.Grad (gen (int t.Param.Length) gradScale))
            let before =
                tensors |> List.map (fun t ->
                    decode backend c.Param t.Param None,
                    decode backend c.Grad t.Grad None,
                    [| for k in 0..2 -> config.States[k] |> Option.ofNullable |> Option.map (fun f -> decode backend f.Storage t.States[k] (Option.ofObj t.Scales[k])) |])
            let scalars = StepScalars.For(config, step, gradScale = c.GradScale)
            plan.Step scalars
            List.zip tensors before
            |> List.iteri (fun ti (t, (p0, g0, s0)) ->
                let n = p0.Length
                let named =
                    if step = 1 then specRule.Init { Name = "p"; Shape = [ n ]; Value = Vector<float>.Build.DenseOfArray p0 }
                    else
                        { Step = step - 1
                          Buffers = Map [ for k in 0..2 do match s0[k] with Some b -> yield slotNames[k], Vector<float>.Build.DenseOfArray b | None -> () ] }
                let gSpec = Vector<float>.Build.DenseOfArray(g0 |> Array.map (fun x -> x / c.GradScale))
                let pSpec, sSpec = specRule.Step named gSpec { Name = "p"; Shape = [ n ]; Value = Vector<float>.Build.DenseOfArray p0 }
                let p1 = decode backend c.Param t.Param None
                let s1 = [| for k in 0..2 -> config.States[k] |> Option.ofNullable |> Option.map (fun f -> decode backend f.Storage t.States[k] (Option.ofObj t.Scales[k])) |]
                let scales = [| for k in 0..2 -> match t.Scales[k] with null -> [||] | s -> backend.Download<byte> s |]
                let maths = if c.Math = Bf16 then bf16Maths else float32Maths
                // An input as the kernel sees it: in bf16 maths rounded to bf16 unless its codes already are.
                let input (exactInBf16: bool) (v: float) = if c.Math = Bf16 && not exactInBf16 then round maths (exact v) else exact v
                let fmtOf k = config.States[k] |> Option.ofNullable
                let stateInput k i =
                    match s0[k], fmtOf k with
                    | Some b, Some f -> input (f.Storage = Bf16 || (f.IsFp8 && not f.BlockScaled)) b[i]
                    | _ -> exact 0.0
                let mutable firstFailure = None
                for i in 0 .. n - 1 do
                    if firstFailure.IsNone then
                        let x = { P = input (c.Param = Bf16) p0[i]; G = input (c.Grad = Bf16) g0[i]; S0 = stateInput 0 i; S1 = stateInput 1 i; S2 = stateInput 2 i }
                        let y = stepBound scalars x
                        // A sign the step takes may be uncertain (its argument within rounding of zero): the bound then
                        // holds either sign. A bound is infinite only where a divisor's interval reaches zero (no eps):
                        // nothing can be compared there. A parameter that is already NaN (centered RMSprop's square_avg
                        // fell below grad_avg^2 after fp8 rounding at an earlier step, where both sides were compared as
                        // NaN) must stay NaN on both sides.
                        let poisoned = Double.IsNaN x.P.V
                        if Double.IsFinite y.P.E || poisoned then
                            let pf = StateFormat(c.Param, false)
                            let err = abs (p1[i] - pSpec[i])
                            if not (nanAgrees y.P p1[i] pSpec[i] || err <= allowed pf 1.0 pSpec[i] y.P.E) then
                                firstFailure <- Some(sprintf "tensor %d (n=%d) element %d param: got %.9g, spec %.9g, error %.3g ulps (allowed %.3g); inputs p %.9g g %.9g s %.9g %.9g %.9g"
                                                        ti n i p1[i] pSpec[i] (ulps pf 1.0 pSpec[i] err) (ulps pf 1.0 pSpec[i] (allowed pf 1.0 pSpec[i] y.P.E))
                                                        x.P.V x.G.V x.S0.V x.S1.V x.S2.V)
                        for k in 0..2 do
                            match s1[k], fmtOf k with
                            | Some got, Some f when firstFailure.IsNone ->
                                let want = (Buffers.get sSpec slotNames[k])[i]
                                let bounded = match k with 0 -> y.S0 | 1 -> y.S1 | _ -> y.S2
                                let scale = if f.BlockScaled then E8M0.scale (scales[k][i / ElementwiseLayout.ScaleBlock]) else 1.0
                                let err = abs (got[i] - want)
                                // As for the parameter: an infinite bound (a divisor's interval reaching zero, as
                                // Adadelta's acc_delta bound does at some elements under bf16 maths) compares nothing;
                                // `allowed` of it is NaN.
                                if (Double.IsFinite bounded.E || poisoned) && not (nanAgrees bounded got[i] want || err <= allowed f scale want bounded.E) then
                                    firstFailure <- Some(sprintf "tensor %d (n=%d) element %d %s (%s): got %.9g, spec %.9g, error %.3g ulps (allowed %.3g)"
                                                            ti n i slotNames[k] f.Name got[i] want (ulps f scale want err) (ulps f scale want (allowed f scale want bounded.E)))
                            | _ -> ()
                firstFailure |> Option.iter (fun msg -> failures.Add(sprintf "step %d: %s" step msg)))
    finally
        tensors |> List.iter (fun t -> t.Buffers |> Seq.iter (fun b -> b.Dispose()))
    failures |> Seq.map (fun f -> Checks.failureLabel (sprintf "%s (%O)" f config) c) |> List.ofSeq

/// The state formats a rule is checked with: fp32, bf16, block-scaled fp8 e4m3 and e5m2, and unscaled fp8 where the
/// rule's state is bounded (S3GD's momentum).
let stateFormats (rule: string) : StateFormat list =
    [ StateFormat.Fp32; StateFormat.Bf16; StateFormat(Fp8E4M3, true); StateFormat(Fp8E5M2, true) ]
    @ (if ElementwiseRules.ByName[rule].Bounded 0 then [ StateFormat(Fp8E4M3, false); StateFormat(Fp8E5M2, false) ] else [])

/// The rules with a fused elementwise kernel, in the order the catalog registers them (and the verify table lists them).
let rules = List.ofSeq (S3gd.Gpu.Optimizers.OptimizerCatalog.Family S3gd.Gpu.Optimizers.RuleFamily.Elementwise)


/// The check of one rule with one state format over cases of `steps` steps (first, last), their hyperparameters redrawn
/// by `redraw`, each stepped and compared with the spec; `property` names it.
let private stepsMatchSpecWith (redraw: Hypers -> Gen<Hypers>) (steps: int * int) (property: string) (rule: string) (state: StateFormat) : Checks.Check =
    let info = ruleInfo rule
    let holds (backend: Backend) (c: Case) =
        let failures = runCase backend info state c
        List.isEmpty failures |> Prop.label (String.Join("; ", failures))
    { Property = property
      Format = Some state.Storage
      AppliesTo = fun backend -> not state.IsFp8 || backend.SupportsFp8
      Run = fun config backend ->
          // Every other rule draws a gradient scale too.
          let gradScale = rule.Length % 2 = 0
          let cases = caseOver steps rule gradScale (longest backend) |> Gen.bind (fun c -> redraw c.Hypers |> Gen.map (fun h -> { c with Hypers = h }))
          Check.One(config, Prop.forAll (Arb.fromGen cases) (holds backend)) }

/// The check of one rule with one state format over cases of `steps` steps (first, last), each stepped and compared with
/// the spec; `property` names it.
let private stepsMatchSpec = stepsMatchSpecWith Gen.constant

/// The check of one rule with one state format: random cases, each stepped and compared with the spec.
let stepMatchesSpec (rule: string) (state: StateFormat) : Checks.Check =
    stepsMatchSpec fewSteps (sprintf "%s step = spec, state %s" rule state.Name) rule state

/// RAdam's rectified steps: rho_t passes 5 at step 6 for every beta2 of 0.9 or more (at step t, rho_t is about t for
/// beta2 near 1), after the 1 to 4 steps of `stepMatchesSpec`; cases of 6 to 9 steps, with fp32 and bf16 state.
let radamRectified : Checks.Check list =
    [ for state in [ StateFormat.Fp32; StateFormat.Bf16 ] ->
          stepsMatchSpec (6, 9) (sprintf "radam step = spec, rectified steps 6 to 9, state %s" state.Name) "radam" state ]

/// ASGD's averaging steps: ax copies p while mu = 1 and averages once step - 1 - t0 passes 1 (mu is 1/max(1, k - t0)
/// after step k), so with t0 drawn from its typical 0 to 5 (or 0) most cases of 6 to 9 steps average at their last
/// steps, while few of the 1 to 4 steps of `stepMatchesSpec` do (t0 below 2); fp32 and bf16 state.
let asgdAveraging : Checks.Check list =
    [ for state in [ StateFormat.Fp32; StateFormat.Bf16 ] ->
          stepsMatchSpec (6, 9) (sprintf "asgd step = spec, averaging steps 6 to 9, state %s" state.Name) "asgd" state ]

/// Rprop's clamps: step_size_min and step_size_max drawn around lr (0.1 to 1.2 and 0.8 to 2.5 times it; sometimes the
/// minimum above the maximum, where torch's clamp gives the maximum), so that the step sizes of 1 to 4 steps, starting
/// at lr and scaled by etaplus or etaminus, meet them, which the typical step_size_max (0.01 to 50) seldom does; fp32
/// and bf16 state.
let rpropClamps : Checks.Check list =
    let around (h: Hypers) =
        let lr = Hyper.getReal h "lr"
        gen {
            let! low = real 0.1 1.2
            let! high = real 0.8 2.5
            return h |> Map.add "step_size_min" (Real(low * lr)) |> Map.add "step_size_max" (Real(high * lr))
        }
    [ for state in [ StateFormat.Fp32; StateFormat.Bf16 ] ->
          stepsMatchSpecWith around fewSteps (sprintf "rprop step = spec, step sizes at their clamps, state %s" state.Name) "rprop" state ]

/// Elements of the large-tensor check: a few million, not a multiple of the chunk; 100001 where the kernels are emulated.
let largeLength (backend: Backend) = if Checks.emulated backend then 100_001 else 3_000_001

/// One large tensor (`largeLength` elements) of AdamW with block-scaled e4m3 state, two steps, compared in full.
let largeTensor : Checks.Check =
    let info = ruleInfo "adamw"
    let state = StateFormat(Fp8E4M3, true)
    { Property = sprintf "adamw step = spec, one large tensor, state %s" state.Name
      Format = Some Fp8E4M3
      AppliesTo = fun backend -> backend.SupportsFp8
      Run = fun _ backend ->
          let c = { Hypers = Map [ "lr", Real 1e-3; "weight_decay", Real 0.01 ]; Param = Fp32; Grad = Bf16; Math = Fp32
                    Lengths = [ largeLength backend ]; Steps = 2; GradScale = 1.0; Seed = 1; Launch = ElementwiseLaunch.Default }
          match runCase backend info state c with
          | [] -> ()
          | failures -> failwith (String.Join("; ", failures)) }

/// With found_inf set, a step changes nothing: every buffer keeps its bits.
let foundInfIsNoOp : Checks.Check =
    let info = ruleInfo "adamw"
    { Property = "adamw step with found_inf = no-op"
      Format = None
      AppliesTo = fun _ -> true
      Run = fun _ backend ->
          let config = ElementwiseConfig(info, Map.empty, Fp32, Fp32, Fp32, [| StateFormat.Fp32 |], foundInf = true)
          let n = 5000
          let p = Transfer.uploadFloats backend (Array.init n (fun i -> float32 (sin (float i))))
          let g = Transfer.uploadFloats backend (Array.init n (fun i -> float32 (cos (float i))))
          let struct (states, scales) = backend.AllocateElementwiseState(config, int64 n)
          let tensor = ElementwiseTensor(p, g, states, scales)
          let flag = Transfer.uploadFloats backend [| 1.0f |]
          try
              let before = tensor.Buffers |> Seq.map (Transfer.downloadCodes backend) |> Seq.toList
              backend.StepElementwise(config, StepScalars.For(config, 1), [ tensor ], flag)
              let after = tensor.Buffers |> Seq.map (Transfer.downloadCodes backend) |> Seq.toList
              if before <> after then failwith "a step with found_inf = 1 changed a buffer"
              backend.Upload<float32>(flag, ReadOnlySpan [| 0.0f |])
              backend.StepElementwise(config, StepScalars.For(config, 1), [ tensor ], flag)
              if Transfer.downloadCodes backend p = before.Head then failwith "a step with found_inf = 0 left the parameter unchanged"
          finally
              flag.Dispose()
              tensor.Buffers |> Seq.iter (fun b -> b.Dispose()) }

/// Steps a case on a backend without comparing, and returns every buffer's final codes with their format (param,
/// then each kept state and its scales as float32): what the CPU-twin check compares across backends.
let private finalCodes (backend: Backend) (rule: RuleInfo) (state: StateFormat) (c: Case) : (StorageFormat * uint32[]) list =
    let config = ElementwiseConfig(rule, c.Hypers, c.Param, c.Grad, c.Math, [| state |], gradScale = (c.GradScale <> 1.0))
    let rnd = Random c.Seed
    let gen n (scale: float) = Array.init n (fun i -> if i % 17 = 3 then 0.0f else float32 ((rnd.NextDouble() * 2.0 - 1.0) * scale))
    let tensors =
        c.Lengths
        |> List.map (fun n ->
            let struct (states, scales) = backend.AllocateElementwiseState(config, int64 n)
            ElementwiseTensor(upload backend c.Param (gen n 1.0), upload backend c.Grad (gen n 1.0), states, scales))
    try
        use plan = backend.PlanElementwise(config, tensors, launch = c.Launch)
        for step in 1 .. c.Steps do
            let gradScale = Math.Pow(10.0, float (rnd.Next(-3, 2)))
            tensors |> List.iter (fun t -> overwrite backend c.Grad t.Grad (gen (int t.Param.Length) gradScale))
            plan.Step(StepScalars.For(config, step, gradScale = c.GradScale))
        [ for t in tensors do
              yield c.Param, Transfer.downloadCodes backend t.Param
              for k in 0..2 do
                  match t.States[k], config.States[k] |> Option.ofNullable with
                  | null, _ | _, None -> ()
                  | b, Some f ->
                      yield f.Storage, Transfer.downloadCodes backend b
                      match t.Scales[k] with
                      | null -> ()
                      | sc -> yield Fp32, Transfer.downloadCodes backend sc ]
    finally
        tensors |> List.iter (fun t -> t.Buffers |> Seq.iter (fun b -> b.Dispose()))

/// The longest tensor of a CPU-twin case: as the step checks' (`longest`), a third of it where the kernels are emulated
/// (3000 elements, more than a chunk of the kernel) — that check runs every rule and format again.
let private twinLongest (backend: Backend) = if Checks.emulated backend then longest backend / 3 else longest backend

/// The CPU backend, the kernel's twin, gives the same bits as the backend under test for every rule and state format
/// on the same inputs (NaN codes aside: a NaN's payload is the hardware's choice).
let cpuTwin : Checks.Check =
    { Property = "elementwise CPU twin, bit for bit"
      Format = None
      AppliesTo = fun backend -> backend.Kind <> BackendKind.Cpu
      Run = fun config backend ->
          use cpu = new Cpu.CpuBackend()
          let property (rule: string) (state: StateFormat) (c: Case) =
              let info = ruleInfo rule
              let expected = finalCodes cpu info state c
              let actual = finalCodes backend info state c
              let mismatch =
                  List.zip expected actual
                  |> List.indexed
                  |> List.tryPick (fun (b, ((f, e), (_, a))) ->
                      Array.zip e a
                      |> Array.tryFindIndex (fun (x, y) -> x <> y && not (Double.IsNaN(StorageFormat.decode f x) && Double.IsNaN(StorageFormat.decode f y)))
                      |> Option.map (fun i -> sprintf "%s state %s, buffer %d (%s) element %d: CPU 0x%x, %O 0x%x; %A" rule state.Name b (StorageFormat.name f) i e[i] backend.Kind a[i] c))
              Option.isNone mismatch |> Prop.label (defaultArg mismatch "")
          for rule in rules do
              for state in stateFormats rule do
                  if not state.IsFp8 || backend.SupportsFp8 then
                      Check.One(Checks.twinConfig backend config, Prop.forAll (Arb.fromGen (case rule (rule.Length % 2 = 0) (twinLongest backend))) (property rule state)) }

/// Every elementwise check: each rule with each state format, RAdam's rectified steps, ASGD's averaging steps, Rprop's
/// clamps, then the large tensor, found_inf and the CPU twin.
let all : Checks.Check list =
    [ for r in rules do
          for s in stateFormats r -> stepMatchesSpec r s ]
    @ radamRectified
    @ asgdAveraging
    @ rpropClamps
    @ [ largeTensor; foundInfIsNoOp; cpuTwin ]
