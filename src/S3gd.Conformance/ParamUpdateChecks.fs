/// The bf16 parameter update modes of the fused elementwise step against the spec, for every backend. Kahan: the pair
/// (p, c) represents the spec's parameter, to within a bound far below a bf16 ulp of p, over several steps. Stochastic:
/// each result is one of the two bf16 neighbours of the float32 update, the same bits for the same seed, and unbiased
/// over many elements (a seeded statistical check with a derived bound).
module S3gd.Conformance.ParamUpdateChecks

open System
open FsCheck
open FsCheck.FSharp
open MathNet.Numerics.LinearAlgebra
open S3gd.Spec.Formats
open S3gd.Spec.Rules
open S3gd.Gpu
open S3gd.Gpu.Elementwise
open S3gd.Conformance.MathBound
open S3gd.Conformance.ElementwiseChecks

/// Unit roundoff of float32 (2^-24): the relative error of one float32 operation of the update.
let private u32 = Math.Pow(2.0, -24.0)

/// One case: a rule's hyperparameters, gradient and state formats (parameters are bf16, maths float32), tensor
/// lengths, steps and the seed of the inputs (and of stochastic rounding).
type UpdateCase = { Hypers: Hypers; Grad: StorageFormat; State: StateFormat; Lengths: int list; Steps: int; Seed: int }

let private updateCase (rule: string) (largest: int) : Gen<UpdateCase> =
    gen {
        let! h = hypers rule
        let! g = Gen.elements [ Fp32; Bf16 ]
        let! s = Gen.elements [ StateFormat.Fp32; StateFormat.Bf16 ]
        let! lengths = lengths 2 largest
        let! steps = Gen.choose (2, 6)
        let! seed = Gen.choose (0, Int32.MaxValue)
        return { Hypers = h; Grad = g; State = s; Lengths = lengths; Steps = steps; Seed = seed }
    }

/// What one step of one element looked like: its inputs as decoded, the spec's new parameter, the maths bound of the
/// float32 update (infinite where a divisor's interval reaches zero: nothing can be compared there).
type private Stepped = { P0: float; PSpec: float; Bound: float }

/// Runs a case with an update mode on a backend; `observe step tensor stepped p1 c1 c0` sees every element after every
/// step (c0, c1: the compensation before and after, zero without Kahan). Returns every tensor's final parameter codes,
/// each followed by its compensation's codes with Kahan.
let private runUpdate (backend: Backend) (rule: RuleInfo) (mode: ParamUpdate) (c: UpdateCase) (observe: int -> int -> Stepped[] -> float[] -> float[] -> float[] -> unit) =
    let config = ElementwiseConfig(rule, c.Hypers, Bf16, c.Grad, Fp32, [| c.State |], paramUpdate = mode)
    let specRule =
        match Hyper.resolve rule.Hypers c.Hypers |> Result.bind rule.Create with
        | Ok r -> r
        | Error e -> invalidArg (nameof c) e
    let rnd = Random c.Seed
    let gen n (scale: float) = Array.init n (fun i -> if i % 17 = 3 then 0.0f else float32 ((rnd.NextDouble() * 2.0 - 1.0) * scale))
    let tensors =
        c.Lengths
        |> List.map (fun n ->
            let struct (states, scales) = backend.AllocateElementwiseState(config, int64 n)
            ElementwiseTensor(upload backend Bf16 (gen n 1.0), upload backend c.Grad (gen n 1.0), states, scales, backend.AllocateCompensation(config, int64 n)))
    let slotNames = config.SlotNames
    let stepBound = MathBound.step config
    let compensation (t: ElementwiseTensor) n = match t.Compensation with null -> Array.zeroCreate n | b -> decode backend Bf16 b None
    try
        use plan = backend.PlanElementwise(config, tensors)
        for step in 1 .. c.Steps do
            // Fresh gradients each step, in magnitudes from 1e-3 to 10.
            let gradScale = Math.Pow(10.0, float (rnd.Next(-3, 2)))
            tensors |> List.iter (fun t -> overwrite backend c.Grad t.Grad (gen (int t.Param.Length) gradScale))
            let before =
                tensors |> List.map (fun t ->
                    let n = int t.Param.Length
                    decode backend Bf16 t.Param None, decode backend c.Grad t.Grad None,
                    [| for k in 0..2 -> config.States[k] |> Option.ofNullable |> Option.map (fun f -> decode backend f.Storage t.States[k] None) |],
                    compensation t n)
            let scalars = StepScalars.For(config, step, seed = uint32 c.Seed)
            plan.Step scalars
            List.zip tensors before
            |> List.iteri (fun ti (t, (p0, g0, s0, c0)) ->
                let n = p0.Length
                let named =
                    if step = 1 then specRule.Init { Name = "p"; Shape = [ n ]; Value = Vector<float>.Build.DenseOfArray p0 }
                    else
                        { Step = step - 1
                          Buffers = Map [ for k in 0..2 do match s0[k] with Some b -> yield slotNames[k], Vector<float>.Build.DenseOfArray b | None -> () ] }
                let pSpec, _ = specRule.Step named (Vector<float>.Build.DenseOfArray g0) { Name = "p"; Shape = [ n ]; Value = Vector<float>.Build.DenseOfArray p0 }
                let state k i = match s0[k] with Some b -> exact b[i] | None -> exact 0.0
                let stepped =
                    Array.init n (fun i ->
                        let y = stepBound scalars { P = exact p0[i]; G = exact g0[i]; S0 = state 0 i; S1 = state 1 i; S2 = state 2 i }
                        // Where either side may be NaN (a root of an argument within rounding of zero), nothing is
                        // known: as an infinite bound, not compared.
                        { P0 = p0[i]; PSpec = pSpec[i]; Bound = if y.P.MayBeNaN then infinity else y.P.E })
                observe step ti stepped (decode backend Bf16 t.Param None) (compensation t n) c0)
        [ for t in tensors do
              yield Transfer.downloadCodes backend t.Param
              if not (isNull t.Compensation) then yield Transfer.downloadCodes backend t.Compensation ]
    finally
        tensors |> List.iter (fun t -> t.Buffers |> Seq.iter (fun b -> b.Dispose()))

/// The bound of one Kahan step on |(p1 + c1) - (p0 + c0 + (pSpec - p0))|. The kernel keeps p + c' = p1 + c'' exactly
/// up to its roundings (how p1 itself rounds does not matter), so the error is: the maths bound of the float32 update;
/// one float32 rounding (u32 times the magnitude, plus the underflow floor) each of d = p_new - p0, c' = c0 + d,
/// p0 - p1 and c'' = c' + (p0 - p1); and c'' rounded to bf16 when stored, half a bf16 ulp of c1 (c'' rounds within its
/// own binade or up to the next power of two, whose ulp is the larger).
let kahanStepBound (p0: float) (c0: float) (pSpec: float) (mathBound: float) (p1: float) (c1: float) =
    let d = abs (pSpec - p0) + mathBound
    let cd = abs c0 + d
    let moved = abs (p0 - p1)
    let roundings = 4.0 // d, c', p0 - p1, c''
    mathBound + u32 * (d + cd + moved + (cd + moved)) + roundings * float32Maths.Tiny + 0.5 * StorageFormat.ulp Bf16 (abs c1)

/// Kahan: after each step, p + c is the spec's parameter (advanced from the previous p + c by the spec's own step on
/// the same decoded inputs) within the accumulated per-step bound `kahanStepBound` (an uncertain sign widens a step's
/// bound to either sign); an element whose step cannot be bounded (a divisor's interval reaching zero) is left out of
/// the comparison from then on.
let kahanRepresentsSpec (rule: string) : Checks.Check =
    let info = ruleInfo rule
    let property (backend: Backend) (c: UpdateCase) =
        let failures = ResizeArray<string>()
        // Per tensor and element: the reference p0 + c0 + sum of spec steps, the accumulated bound, still compared.
        let reference = Collections.Generic.Dictionary<int, float[] * float[] * bool[]>()
        let observe step ti (stepped: Stepped[]) (p1: float[]) (c1: float[]) (c0: float[]) =
            let n = stepped.Length
            if not (reference.ContainsKey ti) then
                reference[ti] <- (Array.init n (fun i -> stepped[i].P0 + c0[i]), Array.zeroCreate n, Array.create n true)
            let target, bound, live = reference[ti]
            for i in 0 .. n - 1 do
                let s = stepped[i]
                if not (Double.IsFinite s.Bound) then live[i] <- false
                if live[i] then
                    target[i] <- target[i] + (s.PSpec - s.P0)
                    bound[i] <- bound[i] + kahanStepBound s.P0 c0[i] s.PSpec s.Bound p1[i] c1[i]
                    let err = abs (p1[i] + c1[i] - target[i])
                    if failures.Count = 0 && not (err <= bound[i]) then
                        failures.Add(sprintf "step %d tensor %d (n=%d) element %d: p %.9g + c %.9g = %.12g, spec %.12g, error %.3g > bound %.3g (p0 %.9g, bf16 ulp %.3g)"
                                         step ti n i p1[i] c1[i] (p1[i] + c1[i]) target[i] err bound[i] s.P0 (StorageFormat.ulp Bf16 p1[i]))
        runUpdate backend info ParamUpdate.Kahan c observe |> ignore
        failures.Count = 0 |> Prop.label (Checks.failureLabel (sprintf "%s kahan: %s" rule (String.Join("; ", failures))) c)
    { Property = sprintf "%s bf16 kahan: p + c = spec" rule
      Format = Some Bf16
      AppliesTo = fun _ -> true
      Run = fun config backend -> Check.One(config, Prop.forAll (Arb.fromGen (updateCase rule (longest backend))) (property backend)) }

/// Stochastic: each step's parameter is one of the two bf16 neighbours of the float32 update (within one bf16 ulp of
/// the spec, plus the maths bound), and the same seed gives the same bits on a second run.
let stochasticNeighbours (rule: string) : Checks.Check =
    let info = ruleInfo rule
    let property (backend: Backend) (c: UpdateCase) =
        let failures = ResizeArray<string>()
        let observe step ti (stepped: Stepped[]) (p1: float[]) (_: float[]) (_: float[]) =
            stepped |> Array.iteri (fun i s ->
                let allowed = s.Bound + StorageFormat.ulp Bf16 (abs s.PSpec + s.Bound)
                let err = abs (p1[i] - s.PSpec)
                if Double.IsFinite s.Bound && failures.Count = 0 && not (err <= allowed || bothNaN p1[i] s.PSpec) then
                    failures.Add(sprintf "step %d tensor %d element %d: got %.9g, spec %.9g: not a bf16 neighbour (error %.3g > %.3g)" step ti i p1[i] s.PSpec err allowed))
        let first = runUpdate backend info ParamUpdate.Stochastic c observe
        let again = runUpdate backend info ParamUpdate.Stochastic c (fun _ _ _ _ _ _ -> ())
        if first <> again then failures.Add "a second run with the same seed gave different bits"
        failures.Count = 0 |> Prop.label (Checks.failureLabel (sprintf "%s stochastic: %s" rule (String.Join("; ", failures))) c)
    { Property = sprintf "%s bf16 stochastic: a neighbour, seeded" rule
      Format = Some Bf16
      AppliesTo = fun _ -> true
      Run = fun config backend -> Check.One(config, Prop.forAll (Arb.fromGen (updateCase rule (longest backend))) (property backend)) }

/// Elements of the unbiasedness check: 2^17.
let unbiasedLength = 1 <<< 17

/// The largest |mean rounding error| in bf16 ulps the unbiasedness check allows: each element's error (p1 - x)/ulp is
/// -f or 1-f, a range of width 1, independent across elements for a good hash, so by Hoeffding's inequality
/// P(|mean| >= t) <= 2 exp(-2 n t^2) = 2 exp(-26.2) < 1e-11 for n = 2^17, t = 0.01. The check is seeded, so it
/// cannot flake; the bound says a fair hash passes it.
let unbiasedTolerance = 0.01

/// Stochastic rounding is unbiased: plain SGD with lr = 1 from p = 1 by steps d = k * 2^-14 (k = 1..63: every
/// fraction below half of the bf16 ulp 2^-7 at 1) lands on 1 or 1 + 2^-7 only, with mean error within
/// `unbiasedTolerance` ulps; rounding to nearest would round every one down, a mean error of -1/4 ulp.
let stochasticUnbiased : Checks.Check =
    { Property = "bf16 stochastic rounding: unbiased mean"
      Format = Some Bf16
      AppliesTo = fun _ -> true
      Run = fun _ backend ->
          let config = ElementwiseConfig(ruleInfo "sgd", Map [ "lr", Real 1.0 ], Bf16, Fp32, Fp32, [| StateFormat.Fp32 |], paramUpdate = ParamUpdate.Stochastic)
          let n = unbiasedLength
          let ulp = Math.Pow(2.0, -7.0) // bf16 ulp in [1, 2)
          let quantum = Math.Pow(2.0, -14.0) // step unit: 1/128 of the ulp, exact in float32
          let fractions = 63 // k = 1..63: below half an ulp
          let d = Array.init n (fun i -> float (i % fractions + 1) * quantum)
          let p = upload backend Bf16 (Array.create n 1.0f)
          let g = Transfer.uploadFloats backend (d |> Array.map (fun x -> float32 -x))
          let struct (states, scales) = backend.AllocateElementwiseState(config, int64 n)
          let tensor = ElementwiseTensor(p, g, states, scales)
          try
              // A fixed seed: the outcome is deterministic.
              backend.StepElementwise(config, StepScalars.For(config, 1, seed = 20261125u), [ tensor ])
              let p1 = decode backend Bf16 p None
              match p1 |> Array.tryFindIndex (fun v -> v <> 1.0 && v <> 1.0 + ulp) with
              | Some i -> failwithf "element %d: %.9g is not a bf16 neighbour of %.9g" i p1[i] (1.0 + d[i])
              | None -> ()
              let mean = Array.map2 (fun v x -> (v - (1.0 + x)) / ulp) p1 d |> Array.average
              if not (abs mean <= unbiasedTolerance) then
                  failwithf "mean rounding error %.4g ulps over %d elements; at most %.2g allowed" mean n unbiasedTolerance
          finally
              tensor.Buffers |> Seq.iter (fun b -> b.Dispose()) }

/// The CPU backend gives the same bits as the backend under test under each update mode, for every rule: parameters
/// and compensation (NaN codes aside), the stochastic bits drawn from the same seed.
let cpuTwin : Checks.Check =
    { Property = "bf16 param updates: CPU twin, bit for bit"
      Format = None
      AppliesTo = fun backend -> backend.Kind <> BackendKind.Cpu
      Run = fun config backend ->
          use cpu = new Cpu.CpuBackend()
          let property (rule: string) (mode: ParamUpdate) (c: UpdateCase) =
              let info = ruleInfo rule
              let expected = runUpdate cpu info mode c (fun _ _ _ _ _ _ -> ())
              let actual = runUpdate backend info mode c (fun _ _ _ _ _ _ -> ())
              let isNaN (code: uint32) = Double.IsNaN(Bf16.decode (uint16 code))
              let mismatch =
                  List.zip expected actual
                  |> List.indexed
                  |> List.tryPick (fun (b, (e, a)) ->
                      Array.zip e a
                      |> Array.tryFindIndex (fun (x, y) -> x <> y && not (isNaN x && isNaN y))
                      |> Option.map (fun i -> sprintf "%s %s, buffer %d element %d: CPU 0x%x, %O 0x%x; %A" rule (mode.Name()) b i e[i] backend.Kind a[i] c))
              Option.isNone mismatch |> Prop.label (defaultArg mismatch "")
          for rule in rules do
              for mode in [ ParamUpdate.Kahan; ParamUpdate.Stochastic ] do
                  Check.One(Checks.twinConfig backend config, Prop.forAll (Arb.fromGen (updateCase rule (longest backend))) (property rule mode)) }

/// Every parameter-update check: Kahan and stochastic for each rule, the unbiasedness check and the CPU twin.
let all : Checks.Check list =
    [ for r in rules do
          yield kahanRepresentsSpec r
          yield stochasticNeighbours r ]
    @ [ stochasticUnbiased; cpuTwin ]
