/// The structured steps (StableAdamW, Adam-mini) against the spec, for every backend: random tensor lists (lengths 1,
/// odd, around the segment size), Adam-mini block lengths from 1 to whole tensors, hyperparameters in range, fp32 and
/// bf16 parameters, gradients and moments, StableAdamW's Kahan-compensated bf16 parameters, stepped 1 to 4 times with
/// gradients whose magnitudes change (so the RMS clip engages). Each step is compared with the spec rule in float64 on the
/// same decoded inputs, within StructuredBound's float32 bound (the block sums included) plus half an ulp of storage.
module S3gd.Conformance.StructuredChecks

open System
open FsCheck
open FsCheck.FSharp
open MathNet.Numerics.LinearAlgebra
open S3gd.Spec.Formats
open S3gd.Spec.Rules
open S3gd.Gpu
open S3gd.Gpu.Elementwise
open S3gd.Gpu.Structured
open S3gd.Conformance.MathBound

/// One tensor of a case: its length and (Adam-mini) block length and whether it decays.
type TensorCase = { Length: int; Block: int; Decays: bool }

/// One case: rule, hypers, formats, tensors, steps, the seed of the values and each step's gradient magnitude (empty:
/// drawn from the seed, 1e-3 to 10).
type Case =
    { Rule: string; Hypers: Hypers; Param: StorageFormat; Grad: StorageFormat; Moment: StorageFormat; Second: StorageFormat
      Tensors: TensorCase list; Steps: int; Seed: int; GradScales: float list }

let private real (lo: float) (hi: float) = Gen.choose (0, 1_000_000) |> Gen.map (fun k -> lo + (hi - lo) * float k / 1e6)
let private orZero (g: Gen<float>) = Gen.frequency [ 1, Gen.constant 0.0; 2, g ]
let private wide = Gen.elements [ Fp32; Bf16 ]

/// StableAdamW or Adam-mini hyperparameters in range (kahan_sum only for bf16 parameters, as the configuration requires).
let hypers (rule: string) (param: StorageFormat) : Gen<Hypers> =
    gen {
        let! lr = real 1e-5 1e-2
        let! beta1 = real 0.5 0.99
        let! beta2 = real 0.9 0.999
        let! eps = real 1e-8 1e-6
        let! wd = orZero (real 0.0 0.1)
        let common = Map [ "lr", Real lr; "beta1", Real beta1; "beta2", Real beta2; "eps", Real eps; "weight_decay", Real wd ]
        if rule = "stableadamw" then
            let! decouple = Gen.elements [ false; true ]
            let! maxLr = orZero (real 1e-3 1e-1)
            let! kahan = if param = Bf16 then Gen.elements [ false; true ] else Gen.constant false
            return common |> Map.add "decouple_lr" (Flag decouple) |> Map.add "max_lr" (Real maxLr) |> Map.add "kahan_sum" (Flag kahan)
        else return common
    }

/// Lengths from <paramref name="g"/>, half of them rounded down to a multiple of 8 (at least 8): a group of whole runs,
/// which the GPU's split-group kernels move as vectors only.
let private halfWholeRuns (g: Gen<int>) =
    let vec = StructuredLayout.Vec
    Gen.oneof [ g; g |> Gen.map (fun n -> max vec (n / vec * vec)) ]

/// A tensor: StableAdamW any length; Adam-mini a block length (1, small, either side of the GPU's one-warp and one-block
/// whole kernels' boundary at 1024, their six- and eight-warp blocks' at 3072, around the segment, up to whole) times a count.
let tensorCase (rule: string) : Gen<TensorCase> =
    gen {
        let! decays = Gen.frequency [ 3, Gen.constant true; 1, Gen.constant false ]
        if rule = "stableadamw" then
            let! n =
                Gen.frequency [ 1, Gen.constant 1; 2, Gen.choose (2, 300); 2, Gen.elements [ 2500; 3072; 3073; 4095; 4096; 4097; 8192; 8193 ]
                                2, halfWholeRuns (Gen.choose (300, 150000)) ]
            return { Length = n; Block = n; Decays = decays }
        else
            let! block =
                Gen.frequency [ 1, Gen.constant 1; 2, Gen.choose (2, 300); 2, Gen.elements [ 768; 1025; 2500; 3072; 3073; 4095; 4096; 4097; 8192; 8193 ]
                                1, halfWholeRuns (Gen.choose (8194, 60000)) ]
            let! blocks = Gen.choose (1, max 1 (min 40 (150000 / block)))
            return { Length = block * blocks; Block = block; Decays = decays }
    }

/// A random case; Adam-mini's first moment also fp8 (with bf16 fallback) where the backend has fp8.
let private case (rule: string) (fp8: bool) : Gen<Case> =
    gen {
        let! p = wide
        let! h = hypers rule p
        let! g = wide
        let! moment = if rule = "adam-mini" && fp8 then Gen.elements [ Fp32; Bf16; Fp8E4M3 ] else wide
        let! second = if rule = "stableadamw" then wide else Gen.constant Fp32
        let! count = Gen.choose (1, 3)
        let! tensors = Gen.listOfLength count (tensorCase rule)
        let! steps = Gen.choose (1, 4)
        let! seed = Gen.choose (0, Int32.MaxValue)
        return { Rule = rule; Hypers = h; Param = p; Grad = g; Moment = moment; Second = second; Tensors = tensors; Steps = steps; Seed = seed
                 GradScales = [] }
    }

/// The configuration of a case.
let config (c: Case) (telemetry: bool) =
    StructuredConfig(ElementwiseChecks.ruleInfo c.Rule, c.Hypers, c.Param, c.Grad, c.Moment, c.Second, telemetry)

/// A case's tensors on a backend: parameters and first gradients from the seed, zero state.
let private allocate (backend: Backend) (cfg: StructuredConfig) (c: Case) (gen: int -> float -> float32[]) =
    c.Tensors
    |> List.map (fun t ->
        let p = ElementwiseChecks.upload backend c.Param (gen t.Length 1.0)
        let g = ElementwiseChecks.upload backend c.Grad (gen t.Length 1.0)
        let struct (moment, second, comp) = backend.AllocateStructuredState(cfg, int64 t.Length, int64 t.Block)
        let fallback = backend.AllocateMomentFallback(cfg, int64 t.Length, int64 t.Block)
        StructuredTensor(p, g, moment, second, (if c.Rule = "stableadamw" then 0L else int64 t.Block), t.Decays, comp, fallback))

/// The values generator of a case: zeros now and then, else uniform in [-scale, scale].
let private values (seed: int) =
    let rnd = Random seed
    rnd, fun n (scale: float) -> Array.init n (fun i -> if i % 17 = 3 then 0.0f else float32 ((rnd.NextDouble() * 2.0 - 1.0) * scale))

/// Step's gradient magnitude: the case's, or drawn (always drawn, so the values that follow do not depend on it).
let private gradScale (c: Case) (rnd: Random) (step: int) =
    let drawn = Math.Pow(10.0, float (rnd.Next(-3, 2)))
    if c.GradScales.IsEmpty then drawn else c.GradScales[step - 1]

let private decodeAll (backend: Backend) (f: StorageFormat) (b: DeviceBuffer) = ElementwiseChecks.decode backend f b None

/// A first moment's values and, per element, the storage it was read from (the format and its block scale): fp32 or
/// bf16 as configured, or for fp8 each block's storage by its word (MomentFallback: fp8 with its scale, zeros exact,
/// bf16 in the slot).
let decodeMoment (backend: Backend) (cfg: StructuredConfig) (t: StructuredTensor) : float[] * (int -> StateFormat * float) =
    match t.Fallback with
    | null -> decodeAll backend cfg.Moment t.Moment, (fun _ -> StateFormat(cfg.Moment, false), 1.0)
    | f ->
        let words = backend.Download<float32> f.Scales
        let values = MomentFallback.Decode(ReadOnlySpan(backend.Download<byte> t.Moment), ReadOnlySpan words, ReadOnlySpan(backend.Download<uint16> f.Pool), t.BlockLength)
        let storage i =
            let w = words[int (MomentFallback.WordOf(int64 i, t.BlockLength))]
            if w = MomentFallback.SlotWord then StateFormat(Bf16, false), 1.0
            elif w = MomentFallback.ZerosWord then StateFormat(Fp32, false), 1.0
            else StateFormat(Fp8E4M3, true), float w
        values, storage

let private vec (xs: float[]) = Vector<float>.Build.DenseOfArray xs

/// The first element where stored values differ from the spec's by more than the bound plus half an ulp of the storage
/// each was read from (its format and block scale).
let private compareIn (what: string) (storage: int -> StateFormat * float) (got: float[]) (want: float[]) (bound: int -> float) =
    Seq.init got.Length id
    |> Seq.tryFind (fun i ->
        let sf, scale = storage i
        not (ElementwiseChecks.bothNaN got[i] want[i] || abs (got[i] - want[i]) <= ElementwiseChecks.allowed sf scale want[i] (bound i)))
    |> Option.map (fun i ->
        let sf, scale = storage i
        let err = abs (got[i] - want[i])
        sprintf "%s element %d of %d (%s): got %.9g, spec %.9g, error %.3g ulps (allowed %.3g)"
            what i got.Length sf.Name got[i] want[i] (ElementwiseChecks.ulps sf scale want[i] err)
            (ElementwiseChecks.ulps sf scale want[i] (ElementwiseChecks.allowed sf scale want[i] (bound i))))

/// The first element where stored values differ from the spec's by more than the bound plus half an ulp of one plain
/// storage format.
let compareStored (what: string) (f: StorageFormat) = compareIn what (fun _ -> StateFormat(f, false), 1.0)

/// Checks one StableAdamW tensor's step against the spec; None when it agrees.
let private checkStable (cfg: StructuredConfig) (sc: StructuredScalars) (h: StableAdamW.Hyper) step (p0: float[]) (g0: float[]) (m0: float[]) (v0: float[])
                        (c0: float[] option) (p1: float[]) (m1: float[]) (v1: float[]) (c1: float[] option) =
    let n = p0.Length
    // With Kahan the represented parameter is p + c: the spec (without rounding) steps it, and the new p + c must follow.
    let pIn = match c0 with Some c -> Array.map2 (+) p0 c | None -> p0
    let state: StableAdamW.State = { Step = step - 1; ExpAvg = vec m0; ExpAvgSq = vec v0; KahanComp = None }
    let pSpec, sSpec = StableAdamW.step { h with KahanSum = false } state (vec g0) (vec pIn)
    let lrT, decay = StructuredBound.stableScalars sc g0 v0
    let ys = Array.init n (fun i -> StructuredBound.stableElement cfg sc (lrT, decay) p0[i] g0[i] m0[i] v0[i])
    let pBound i =
        let (y: Bounded), _, _ = ys[i]
        match c0, c1 with
        | Some c, Some cNew ->
            // The kernel decays p, not p + c (|c|*|1 - decay| more), and rounds the new compensation: float32 sums of at
            // most |c| + |delta| (2u each) and the bf16 store of c (one bf16 ulp of its magnitude, generously).
            let delta = abs (pSpec[i] - pIn[i])
            y.E + abs c[i] * abs (1.0 - decay.V) + 4.0 * float32Maths.U * (abs c[i] + delta)
            + StorageFormat.ulp Bf16 (abs cNew[i] + abs c[i] + delta)
        | _ -> y.E
    let pGot = match c1 with Some c -> Array.map2 (+) p1 c | None -> p1
    // p + c is compared in float64: no storage rounding of its own beyond the bound's.
    let pFormat = if c1.IsSome then Fp32 else cfg.Param
    [ compareStored "param" pFormat pGot (pSpec.ToArray()) pBound
      compareStored "exp_avg" cfg.Moment m1 (sSpec.ExpAvg.ToArray()) (fun i -> let _, (y: Bounded), _ = ys[i] in y.E)
      compareStored "exp_avg_sq" cfg.SecondMoment v1 (sSpec.ExpAvgSq.ToArray()) (fun i -> let _, _, (y: Bounded) = ys[i] in y.E) ]
    |> List.tryPick id

/// Checks one Adam-mini tensor's step against the spec; None when it agrees.
let private checkMini (cfg: StructuredConfig) (sc: StructuredScalars) (h: AdamMini.Hyper) (t: TensorCase) step (p0: float[]) (g0: float[]) (m0: float[])
                      (vm0: float[]) (p1: float[]) (m1: float[], mStorage: int -> StateFormat * float) (vm1: float[]) =
    let wd = if t.Decays then h.WeightDecay else 0.0
    let state: AdamMini.State = { Step = step - 1; M = vec m0; VMean = vec vm0 }
    let pSpec, sSpec = AdamMini.step h t.Block wd state (vec g0) (vec p0)
    let blocks = Array.init vm0.Length (fun b -> StructuredBound.miniBlock sc g0[b * t.Block .. (b + 1) * t.Block - 1] vm0[b])
    let ys = Array.init p0.Length (fun i -> StructuredBound.miniElement cfg sc t.Decays (snd blocks[i / t.Block]) p0[i] g0[i] m0[i])
    [ compareStored "vmean" Fp32 vm1 (sSpec.VMean.ToArray()) (fun b -> (fst blocks[b]).E)
      compareStored "param" cfg.Param p1 (pSpec.ToArray()) (fun i -> (fst ys[i]).E)
      compareIn "m" mStorage m1 (sSpec.M.ToArray()) (fun i -> (snd ys[i]).E) ]
    |> List.tryPick id

/// Runs a case as runCase does, with `shape step tensor g` changing each step's gradient values before they are stored and
/// `inspect step plan tensors` called after each step's comparison (it may fail by raising).
let runCaseWith (backend: Backend) (c: Case) (telemetry: bool) (shape: int -> int -> float32[] -> unit)
                (inspect: int -> StructuredPlan -> StructuredTensor list -> unit) : string list =
    let cfg = config c telemetry
    let rnd, gen = values c.Seed
    let tensors = allocate backend cfg c gen
    let failures = ResizeArray<string>()
    let resolved = match Hyper.resolve (ElementwiseChecks.ruleInfo c.Rule).Hypers c.Hypers with Ok v -> v | Error e -> invalidArg (nameof c) e
    let real name = Hyper.getReal resolved name
    // The block length and decay come with each tensor, so the partition fields of the spec's hyper are not used.
    let miniHyper = { AdamMini.defaults with Lr = real "lr"; Beta1 = real "beta1"; Beta2 = real "beta2"; Eps = real "eps"; WeightDecay = real "weight_decay" }
    try
        use plan = backend.PlanStructured(cfg, tensors)
        for step in 1 .. c.Steps do
            if failures.Count = 0 then
                // Fresh gradients each step, in magnitudes from 1e-3 to 10 unless the case gives them.
                let scale = gradScale c rnd step
                tensors |> List.iteri (fun ti t ->
                    let g = gen (int t.Param.Length) scale
                    shape step ti g
                    ElementwiseChecks.overwrite backend c.Grad t.Grad g)
                let read (t: StructuredTensor) =
                    decodeAll backend c.Param t.Param, decodeAll backend c.Grad t.Grad, decodeMoment backend cfg t,
                    decodeAll backend c.Second t.SecondMoment, t.Compensation |> Option.ofObj |> Option.map (decodeAll backend Bf16)
                let before = tensors |> List.map read
                let sc = StructuredScalars.For(cfg, step)
                plan.Step sc
                List.zip3 tensors c.Tensors before
                |> List.iteri (fun ti (t, tc, (p0, g0, (m0, _), v0, c0)) ->
                    if failures.Count = 0 then
                        let p1, _, m1, v1, c1 = read t
                        let failure =
                            if c.Rule = "stableadamw" then checkStable cfg sc (StableAdamW.ofHypers resolved) step p0 g0 m0 v0 c0 p1 (fst m1) v1 c1
                            else checkMini cfg sc miniHyper tc step p0 g0 m0 v0 p1 m1 v1
                        failure |> Option.iter (fun f -> failures.Add(sprintf "step %d tensor %d (n=%d, block %d): %s" step ti tc.Length tc.Block f)))
                if failures.Count = 0 then inspect step plan tensors
    finally
        tensors |> List.iter (fun t -> t.Buffers |> Seq.iter (fun b -> b.Dispose()))
    failures |> Seq.map (fun f -> Checks.failureLabel (sprintf "%s (%O)" f cfg) c) |> List.ofSeq

/// Runs a case on a backend and compares every step with the spec; returns the failures (empty: passed).
let runCase (backend: Backend) (c: Case) : string list = runCaseWith backend c false (fun _ _ _ -> ()) (fun _ _ _ -> ())

/// The check of one rule: random cases, each stepped and compared with the spec.
let stepMatchesSpec (rule: string) : Checks.Check =
    { Property = sprintf "%s step = spec" rule
      Format = None
      AppliesTo = fun _ -> true
      Run = fun config backend ->
          Check.One(config, Prop.forAll (Arb.fromGen (case rule backend.SupportsFp8)) (fun c -> let f = runCase backend c in List.isEmpty f |> Prop.label (String.Join("; ", f)))) }

/// Elements of the large-group check on a backend: a few million (733 segments, with a tail) where kernels run at device
/// speed; on ILGPU's CPU accelerator, where every thread of a warp is an OS thread and each shuffle a barrier (the
/// millions would take minutes), 33 segments and a tail: still more segments than the finalize's adding warp has lanes.
let largeLength (backend: Backend) =
    if backend.Kind = BackendKind.IlgpuCpu then (StructuredLayout.WarpSize + 1) * StructuredLayout.Chunk + 1 else 3_000_001

/// One large group per rule (largeLength: millions of elements, 135169 on ILGPU's CPU accelerator), two steps (the
/// second with gradients 10 times the first's, so StableAdamW's clip engages), compared in full: a group of more
/// segments than its finalize's adding warp has lanes.
let largeGroup : Checks.Check =
    { Property = "structured step = spec, one large group"
      Format = None
      AppliesTo = fun _ -> true
      Run = fun _ backend ->
          let n = largeLength backend
          for rule in [ "stableadamw"; "adam-mini" ] do
              let c = { Rule = rule; Hypers = Map [ "lr", Real 1e-3; "weight_decay", Real 0.01 ]; Param = Fp32; Grad = Bf16; Moment = Fp32; Second = Fp32
                        Tensors = [ { Length = n; Block = n; Decays = true } ]; Steps = 2; Seed = 3
                        GradScales = [ 0.1; 1.0 ] }
              match runCase backend c with
              | [] -> ()
              | failures -> failwith (String.Join("; ", failures)) }

/// Steps a case without comparing and returns every buffer's final codes with its format (the CPU-twin comparison).
let private finalCodes (backend: Backend) (c: Case) : (StorageFormat * uint32[]) list =
    let cfg = config c false
    let rnd, gen = values c.Seed
    let tensors = allocate backend cfg c gen
    try
        use plan = backend.PlanStructured(cfg, tensors)
        for step in 1 .. c.Steps do
            let scale = gradScale c rnd step
            tensors |> List.iter (fun t -> ElementwiseChecks.overwrite backend c.Grad t.Grad (gen (int t.Param.Length) scale))
            plan.Step(StructuredScalars.For(cfg, step))
        [ for t in tensors do
              yield c.Param, Transfer.downloadCodes backend t.Param
              yield c.Moment, Transfer.downloadCodes backend t.Moment
              yield c.Second, Transfer.downloadCodes backend t.SecondMoment
              match t.Compensation with
              | null -> ()
              | comp -> yield Bf16, Transfer.downloadCodes backend comp
              match t.Fallback with
              | null -> ()
              | f ->
                  yield Fp32, Transfer.downloadCodes backend f.Scales
                  yield Bf16, Transfer.downloadCodes backend f.Pool ]
    finally
        tensors |> List.iter (fun t -> t.Buffers |> Seq.iter (fun b -> b.Dispose()))

/// Elements of the CPU-twin check's large group on CUDA: more segments than the finalize block stages in shared memory
/// at once (StructuredKernels.FinalizeTile), so its tiles are added in turn; about 34 million elements, a step of
/// milliseconds there (the spec's float64 comparison of so many would take minutes).
let private tiledLength = (Kernels.StructuredKernels.FinalizeTile + StructuredLayout.WarpSize + 1) * StructuredLayout.Chunk + 1

/// The CPU backend, the kernels' twin, gives the same bits as the backend under test (NaN codes aside): the sums' order
/// is the layout's on both, so even the reductions agree exactly. On CUDA also one group per rule of tiledLength
/// elements, two steps.
let cpuTwin : Checks.Check =
    { Property = "structured CPU twin, bit for bit"
      Format = None
      AppliesTo = fun backend -> backend.Kind <> BackendKind.Cpu
      Run = fun config backend ->
          use cpu = new Cpu.CpuBackend()
          let mismatch (c: Case) =
              List.zip (finalCodes cpu c) (finalCodes backend c)
              |> List.indexed
              |> List.tryPick (fun (b, ((f, e), (_, a))) ->
                  Array.zip e a
                  |> Array.tryFindIndex (fun (x, y) -> x <> y && not (Double.IsNaN(StorageFormat.decode f x) && Double.IsNaN(StorageFormat.decode f y)))
                  |> Option.map (fun i -> sprintf "buffer %d (%s) element %d: CPU 0x%x, %O 0x%x; %A" b (StorageFormat.name f) i e[i] backend.Kind a[i] c))
          let property (c: Case) = let m = mismatch c in Option.isNone m |> Prop.label (defaultArg m "")
          for rule in [ "stableadamw"; "adam-mini" ] do
              Check.One(config, Prop.forAll (Arb.fromGen (case rule backend.SupportsFp8)) property)
              if backend.Kind = BackendKind.Cuda then
                  let c = { Rule = rule; Hypers = Map [ "lr", Real 1e-3; "weight_decay", Real 0.01 ]; Param = Fp32; Grad = Bf16; Moment = Fp32; Second = Fp32
                            Tensors = [ { Length = tiledLength; Block = tiledLength; Decays = true } ]; Steps = 2; Seed = 3
                            GradScales = [ 0.1; 1.0 ] }
                  mismatch c |> Option.iter failwith }

/// Telemetry: the non-finite gradients of each tensor are counted exactly, and the largest |update| of a clean tensor is
/// the largest |p_new - p_old| (fp32 parameters: the float32 difference the kernel takes); a second
/// read, with no step between, is all zero.
let telemetryCounts : Checks.Check =
    { Property = "structured telemetry counts"
      Format = None
      AppliesTo = fun _ -> true
      Run = fun _ backend ->
          for rule in [ "stableadamw"; "adam-mini" ] do
              let c = { Rule = rule; Hypers = Map [ "lr", Real 1e-2 ]; Param = Fp32; Grad = Fp32; Moment = Fp32; Second = Fp32
                        Tensors = [ { Length = 5000; Block = 1000; Decays = true }; { Length = 7000; Block = 7000; Decays = true } ]; Steps = 1; Seed = 7
                        GradScales = [] }
              let cfg = config c true
              let _, gen = values c.Seed
              let tensors = allocate backend cfg c gen
              try
                  use plan = backend.PlanStructured(cfg, tensors)
                  let bad = [| 3; 4000; 6999 |]
                  let g = gen 7000 1.0
                  bad |> Array.iteri (fun k i -> g[i] <- [| Single.NaN; Single.PositiveInfinity; Single.NegativeInfinity |][k])
                  ElementwiseChecks.overwrite backend Fp32 tensors[1].Grad g
                  let p0 = backend.Download<float32> tensors[0].Param
                  plan.Step(StructuredScalars.For(cfg, 1))
                  let p1 = backend.Download<float32> tensors[0].Param
                  let counters = plan.ReadTelemetry()
                  let largest = Array.map2 (fun (a: float32) b -> abs (b - a)) p0 p1 |> Array.max
                  if counters[0].NonFiniteGrads <> 0L || counters[1].NonFiniteGrads <> int64 bad.Length then
                      failwithf "%s: non-finite gradients counted %d and %d, expected 0 and %d" rule counters[0].NonFiniteGrads counters[1].NonFiniteGrads bad.Length
                  // fp32 parameters are stored as computed, so |p1 - p0| in float32 is the kernel's own |p - old|.
                  if counters[0].MaxAbsUpdate <> largest then
                      failwithf "%s: max |update| %g, the parameters moved at most %g" rule counters[0].MaxAbsUpdate largest
                  if largest = 0.0f then failwithf "%s: the step did not move the parameters" rule
                  let again = plan.ReadTelemetry()
                  if again |> Seq.exists (fun t -> t.MaxAbsUpdate <> 0.0f || t.NonFiniteGrads <> 0L) then
                      failwithf "%s: counters not reset by reading: %A" rule again
              finally
                  tensors |> List.iter (fun t -> t.Buffers |> Seq.iter (fun b -> b.Dispose())) }

/// Adam-mini's fp8 first moment falls back where the spec says, counted: one tensor of three 4096-element groups (one
/// segment each), 1e15 among ordinary gradients in block 3 of group 0 (the others of that block would flush to zero: it
/// takes its segment's slot) and in blocks 2, 6 and 16 of group 1 (2 takes the slot, 6 and 16 overflow: plain fp8, their
/// small elements flushed), and block 4 of group 2 all zero at the first step (a block of zeros). Both steps equal the spec
/// within each block's own storage (the second reads the slots back); the block words, telemetry counts and the kept
/// and flushed elements are checked after the first.
let fallbackForced : Checks.Check =
    { Property = "adam-mini fp8 first moment: forced fallbacks"
      Format = Some Fp8E4M3
      AppliesTo = fun backend -> backend.SupportsFp8
      Run = fun _ backend ->
          let group = 4096
          let c = { Rule = "adam-mini"; Hypers = Map [ "lr", Real 1e-3 ]; Param = Fp32; Grad = Fp32; Moment = Fp8E4M3; Second = Fp32
                    Tensors = [ { Length = 3 * group; Block = group; Decays = true } ]; Steps = 2; Seed = 5; GradScales = [ 1.0; 1.0 ] }
          let at g b k = g * group + b * MomentFallback.BlockSize + k
          let huge = 1e15f
          let shape step _ (g: float32[]) =
              g[at 0 3 5] <- huge
              g[at 1 2 9] <- huge
              g[at 1 6 100] <- huge
              g[at 1 16 50] <- huge
              if step = 1 then for k in 0 .. MomentFallback.BlockSize - 1 do g[at 2 4 k] <- 0.0f
          let inspect step (plan: StructuredPlan) (tensors: StructuredTensor list) =
              let counters = plan.ReadTelemetry()
              if step = 1 then
                  let t = tensors[0]
                  let words = backend.Download<float32> t.Fallback.Scales
                  let perGroup = group / MomentFallback.BlockSize
                  let word g b = words[g * perGroup + b]
                  let expect what (w: float32) ok = if not ok then failwithf "block word of %s is %g" what w
                  expect "group 0 block 3" (word 0 3) (word 0 3 = MomentFallback.SlotWord)
                  expect "group 1 block 2" (word 1 2) (word 1 2 = MomentFallback.SlotWord)
                  expect "group 1 block 6 (overflowed)" (word 1 6) (word 1 6 > 0.0f)
                  expect "group 1 block 16 (overflowed)" (word 1 16) (word 1 16 > 0.0f)
                  expect "group 2 block 4 (zeros)" (word 2 4) (word 2 4 = MomentFallback.ZerosWord)
                  expect "group 0 block 0" (word 0 0) (word 0 0 > 0.0f)
                  if counters[0].Fallbacks <> 5L || counters[0].Overflows <> 2L then
                      failwithf "telemetry: %d fallbacks and %d overflows, expected 5 and 2" counters[0].Fallbacks counters[0].Overflows
                  let m, _ = decodeMoment backend (config c false) t
                  let kept = [ 0 .. 127 ] |> List.filter (fun k -> k <> 5 && m[at 0 3 k] <> 0.0) |> List.length
                  let flushed = [ 0 .. 127 ] |> List.filter (fun k -> k <> 100 && m[at 1 6 k] = 0.0) |> List.length
                  // The generator's values are zero at every 17th element only: most of the slot block's survive, most of
                  // the overflowed block's flush.
                  if kept < 100 || flushed < 100 then failwithf "slot block kept %d small elements, overflowed block flushed %d" kept flushed
          match runCaseWith backend c true shape inspect with
          | [] -> ()
          | failures -> failwith (String.Join("; ", failures)) }

/// Every structured check.
let all : Checks.Check list =
    [ stepMatchesSpec "stableadamw"; stepMatchesSpec "adam-mini"; largeGroup; telemetryCounts; fallbackForced; cpuTwin ]
