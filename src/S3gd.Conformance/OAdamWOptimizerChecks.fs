/// OAdamW end to end: the optimizer class (S3gd.Gpu.Optimizers.OAdamW) over a mixed parameter set (a wide and a tall
/// matrix, sometimes a second matrix of the wide one's shape, a 3-D tensor or a 1 x 1 matrix; a vector; a one-element
/// tensor), stepped 3 to 5 times with update_proj_gap 2 or 3 (so the cached projection is used and recomputed), against
/// the spec's OAdamW step (S3gd.Spec.Rules.OAdamW.step) evaluated every step on the same decoded inputs: the parameter,
/// exp_avg, exp_avg_sq and ns_cache as the backend stored them before the step, and the gradient.
///
/// The bound composes the two checked parts. Newton–Schulz: where the step recomputes the projection, ns_cache is within
/// OAdamWChecks.projectionBound of the spec's (scale times MuonBound's float32 bound, or its bf16 bound where a kernel
/// backend is asked for ns_precision bf16); where it reuses it, ns_cache keeps its bits. StableAdamW: the parameter and moments are within StructuredBound's
/// float32 bound plus half an ulp of storage, the core's gradient being the decoded gradient (vectors), the kept
/// ns_cache (matrices, reused: exact) or the spec's projection with the Newton–Schulz bound as its error (matrices,
/// recomputed), carried through the RMS (StructuredBound.stableTermWithin) and every element operation.
module S3gd.Conformance.OAdamWOptimizerChecks

open System
open FsCheck
open FsCheck.FSharp
open MathNet.Numerics.LinearAlgebra
open S3gd.Spec.Formats
open S3gd.Spec.Rules
open S3gd.Gpu
open S3gd.Gpu.Elementwise
open S3gd.Gpu.Optimizers
open S3gd.Gpu.Structured
open S3gd.Conformance.MathBound

/// One case: the parameters (name, shape), OAdamW's hyperparameters, the parameter and moment formats, the steps and
/// the seed of the values.
type Case = { Shapes: (string * int list) list; Hypers: Hypers; Param: StorageFormat; Moments: StorageFormat; Steps: int; Seed: int }

let private real (lo: float) (hi: float) = Gen.choose (0, 1_000_000) |> Gen.map (fun k -> lo + (hi - lo) * float k / 1e6)
let private orZero (g: Gen<float>) = Gen.frequency [ 1, Gen.constant 0.0; 2, g ]

/// Matrices of at most 40 x 40, the size OAdamWChecks draws (the spec's float64 and bf16 Newton–Schulz run on the host).
let private wide =
    gen {
        let! r = Gen.choose (1, 16)
        let! c = Gen.choose (r + 1, 40)
        return [ r; c ]
    }

let private tall =
    gen {
        let! c = Gen.choose (1, 16)
        let! r = Gen.choose (c + 1, 40)
        return [ r; c ]
    }

/// OAdamW's hyperparameters in range, update_proj_gap above 1.
let private hypers : Gen<Hypers> =
    gen {
        let! lr = real 1e-4 1e-2
        let! beta1 = real 0.5 0.95
        let! beta2 = real 0.9 0.999
        let! wd = orZero (real 0.0 0.1)
        let! eps = real 1e-8 1e-6
        let! decouple = Gen.elements [ false; true ]
        let! maxLr = orZero (real 1e-2 1e-1)
        let! nsSteps = Gen.choose (1, 5)
        let! gap = Gen.choose (2, 3)
        let! scale = Gen.frequency [ 1, Gen.constant 1.0; 2, real 0.25 4.0 ]
        let! precision = Gen.frequency [ 2, Gen.constant "float32"; 1, Gen.constant "bf16" ]
        return
            Map [ "lr", Real lr; "beta1", Real beta1; "beta2", Real beta2; "weight_decay", Real wd; "eps", Real eps; "decouple_lr", Flag decouple
                  "max_lr", Real maxLr; "ns_steps", Whole nsSteps; "update_proj_gap", Whole gap; "scale", Real scale; "ns_precision", Word precision ]
    }

/// A random case.
let case : Gen<Case> =
    gen {
        let! w = wide
        let! t = tall
        let! extra = Gen.elements [ []; [ "block.1.fc", w ]; [ "block.0.conv", [ 2; 3; 5 ] ]; [ "block.0.gate", [ 1; 1 ] ] ]
        let! n = Gen.frequency [ 1, Gen.constant 2; 3, Gen.choose (3, 300) ]
        let! h = hypers
        let! param = Gen.elements [ Fp32; Bf16 ]
        let! moments = Gen.elements [ Fp32; Bf16 ]
        let! steps = Gen.choose (3, 5)
        let! seed = Gen.choose (0, Int32.MaxValue)
        return
            { Shapes = [ "block.0.fc", w; "block.0.proj", t ] @ extra @ [ "block.0.bias", [ n ]; "block.0.scale", [ 1 ] ]
              Hypers = h; Param = param; Moments = moments; Steps = steps; Seed = seed }
    }

/// A buffer's values decoded from its element type (float32 or bf16).
let private decode (backend: Backend) (b: DeviceBuffer) = ElementwiseChecks.decode backend (ElementTypes.ToFormat b.ElementType) b None

/// Writes float32 values into a buffer of its element type (rounded to nearest for bf16).
let private write (backend: Backend) (b: DeviceBuffer) (xs: float32[]) = ElementwiseChecks.overwrite backend (ElementTypes.ToFormat b.ElementType) b xs

/// The optimizer of a case over its parameters: one group carrying every hyperparameter, states in the case's format.
let private create (c: Case) (ps: Parameter list) =
    let group = c.Hypers |> Map.fold (fun (g: ParamGroup) k v -> g.With(k, v)) (ParamGroup(ps, States = [| StateFormat(c.Moments, false) |]))
    new OAdamW([ group ])

/// A parameter's buffers decoded: the parameter, exp_avg, exp_avg_sq and (matrices) ns_cache.
let private read (backend: Backend) (o: Optimizer) (p: Parameter) =
    let state = o.State p |> Seq.map (fun s -> s.Name, decode backend s.Buffer) |> Map.ofSeq
    decode backend p.Param, state["exp_avg"], state["exp_avg_sq"], Map.tryFind "ns_cache" state

let private vec (xs: float[]) = Vector<float>.Build.DenseOfArray xs

/// One parameter's step against the spec on the same decoded inputs; the first failure, if any.
let private checkParameter (backend: Backend) (c: Case) (cfg: StructuredConfig) (step: int) (shape: int list) (g: float[]) before after =
    let p0, m0, v0, cache0 = before
    let p1, m1, v1, cache1 = after
    let resolved = match Hyper.resolve OAdamW.info.Hypers c.Hypers with Ok v -> v | Error e -> invalidArg (nameof c) e
    let h = OAdamW.ofHypers resolved
    // The spec keeps a projection from the first step on (update_proj_gap > 1): the backend's before this step.
    let kept = if step > 1 then Option.map vec cache0 else None
    let state: OAdamW.State = { Core = { Step = step - 1; ExpAvg = vec m0; ExpAvgSq = vec v0; KahanComp = None }; NsCache = kept }
    let pSpec, sSpec = OAdamW.step h shape state (vec g) (vec p0)
    let recomputes = OAdamW.isMatrix shape && (kept.IsNone || step % h.UpdateProjGap = 0)
    let projection, coreGrad =
        match cache0, cache1 with
        | Some c0, Some c1 when not recomputes ->
            let changed = Array.exists2 (fun (a: float) b -> BitConverter.DoubleToInt64Bits a <> BitConverter.DoubleToInt64Bits b) c0 c1
            (if changed then Some "ns_cache changed on a step that reuses it" else None), Array.map exact c0
        | Some _, Some c1 ->
            let rows = List.head shape
            let expected, allowed = OAdamWChecks.projectionBound backend h (rows, g.Length / rows) g
            Seq.init c1.Length id
            |> Seq.tryFind (fun i -> not (abs (c1[i] - expected[i]) <= allowed i))
            |> Option.map (fun i ->
                sprintf "ns_cache element %d: %g, the spec's projection %g (error %g, allowed %g)" i c1[i] expected[i] (abs (c1[i] - expected[i])) (allowed i)),
            Array.init g.Length (fun i -> bounded expected[i] (allowed i))
        | None, None -> None, Array.map exact g
        | _ -> Some "ns_cache present before or after the step only", Array.map exact g
    let sc = StructuredScalars.For(cfg, step)
    let lrT, decay = StructuredBound.stableScalarsWithin sc coreGrad v0
    let ys = Array.init g.Length (fun i -> StructuredBound.stableElementWithin cfg sc (lrT, decay) p0[i] coreGrad[i] m0[i] v0[i])
    let bound (pick: Bounded * Bounded * Bounded -> Bounded) i = (pick ys[i]).E
    [ projection
      StructuredChecks.compareStored "param" c.Param p1 (pSpec.ToArray()) (bound (fun (p, _, _) -> p))
      StructuredChecks.compareStored "exp_avg" c.Moments m1 (sSpec.Core.ExpAvg.ToArray()) (bound (fun (_, m, _) -> m))
      StructuredChecks.compareStored "exp_avg_sq" c.Moments v1 (sSpec.Core.ExpAvgSq.ToArray()) (bound (fun (_, _, v) -> v)) ]
    |> List.tryPick id

/// Runs a case on a backend, comparing every parameter at every step; returns the failures (empty: passed).
let runCase (backend: Backend) (c: Case) : string list =
    let rnd = Random c.Seed
    let values n (scale: float) = Array.init n (fun _ -> float32 ((rnd.NextDouble() * 2.0 - 1.0) * scale))
    let ps = c.Shapes |> List.map (fun (name, shape) -> Parameter.Allocate(backend, name, shape, ElementTypes.FromFormat c.Param))
    let failures = ResizeArray<string>()
    try
        for p in ps do write backend p.Param (values (int p.Length) 1.0)
        use o = create c ps
        let coreHypers = c.Hypers |> Map.filter (fun k _ -> StableAdamW.hyperDefs |> List.exists (fun d -> d.Name = k))
        let cfg = StructuredConfig(ElementwiseChecks.ruleInfo "stableadamw", coreHypers, c.Param, Fp32, c.Moments, c.Moments)
        for step in 1 .. c.Steps do
            if failures.Count = 0 then
                // Gradient magnitudes from 1e-3 to 10, so the RMS clip engages on some steps and not on others.
                let scale = Math.Pow(10.0, float (rnd.Next(-3, 2)))
                for p in ps do write backend p.Grad (values (int p.Length) scale)
                let grads = ps |> List.map (fun p -> backend.Download<float32> p.Grad |> Array.map float)
                let before = ps |> List.map (read backend o)
                o.Step()
                List.zip3 ps grads before
                |> List.iter (fun (p, g, b) ->
                    if failures.Count = 0 then
                        let shape = List.ofSeq p.Shape
                        checkParameter backend c cfg step shape g b (read backend o p)
                        |> Option.iter (fun f -> failures.Add(sprintf "step %d, %s (%s): %s" step p.Name (String.Join("x", shape)) f)))
    finally
        for p in ps do p.Dispose()
    failures |> Seq.map (fun f -> sprintf "%s; params %s, moments %s, hypers %A" f (StorageFormat.name c.Param) (StorageFormat.name c.Moments) c.Hypers) |> List.ofSeq

/// The OAdamW class steps every parameter as the spec's OAdamW does, within the Newton–Schulz and StableAdamW bounds.
let optimizerMatchesSpec : Checks.Check =
    { Property = "oadamw optimizer = spec"
      Format = None
      AppliesTo = fun _ -> true
      Run = fun config backend ->
          Check.One(config, Prop.forAll (Arb.fromGen case) (fun c -> let f = runCase backend c in List.isEmpty f |> Prop.label (String.Join("; ", f)))) }

/// Every OAdamW optimizer check.
let all : Checks.Check list = [ optimizerMatchesSpec ]
