/// The spec against PyTorch 2.11's torch.optim, run in float64 on the CPU for 20 steps (tools/golden/make_golden.py).
/// Rules another branch adds (rmsprop, adam, adamw) are looked up by name and fail, naming the rule, until merged.
module S3gd.Properties.Spec.GoldenTests

open Xunit
open MathNet.Numerics.LinearAlgebra
open S3gd.Spec.Rules
open S3gd.Properties.Spec.Golden

/// float64 parity: both sides do the same float64 operations up to association order, so 20 steps stay
/// within a few hundred ulps; 1e-12 relative leaves room without hiding a wrong term (those show at 1e-3 or more).
let private float64Tolerance = 1e-12

/// The Adam-mini golden cases: one folder per named parameter.
let adamMiniCases: obj[] seq = [ for i in 0..17 -> [| box (sprintf "adam_mini_%02d" i) |] ]

/// Final parameter and every buffer torch kept match within `tol` (normwise relative).
let private assertParity (case: string) (paramTol: float) =
    let c = read case
    let p, s = run c
    let err = relError p c.Param
    Assert.True(err <= paramTol, sprintf "%s: param relative error %g > %g" case err paramTol)
    for KeyValue(name, expected) in c.Buffers do
        match Map.tryFind name s.Buffers with
        | None -> Assert.Fail(sprintf "%s: the spec has no buffer '%s' (it has %A)" case name (s.Buffers |> Map.keys |> List.ofSeq))
        | Some actual ->
            let e = relError actual expected
            Assert.True(e <= float64Tolerance, sprintf "%s: buffer %s relative error %g > %g" case name e float64Tolerance)
    Assert.Equal(c.Steps, s.Step)

[<Theory>]
[<InlineData("sgd_plain")>]
[<InlineData("sgd_momentum")>]
[<InlineData("sgd_nesterov")>]
[<InlineData("rmsprop_plain")>]
[<InlineData("rmsprop_centered")>]
[<InlineData("rmsprop_momentum")>]
[<InlineData("adam")>]
[<InlineData("adamw")>]
[<InlineData("adam_amsgrad")>]
[<InlineData("adamax")>]
[<InlineData("nadam")>]
[<InlineData("radam")>]
[<InlineData("adagrad")>]
[<InlineData("adadelta")>]
[<InlineData("asgd")>]
[<InlineData("rprop")>]
[<InlineData("adafactor")>]
[<InlineData("adafactor_vector")>]
let ``float64 rules match torch.optim within 1e-12 relative`` (case: string) = assertParity case float64Tolerance

/// The official Adam-mini (adam_mini.py 1.1.1, tools/golden/make_adam_mini_golden.py) over 18 named parameters of Llama,
/// GPT-2 and BERT models in one optimizer: the spec with its default partition reproduces each parameter's trajectory
/// and state (m, and vmean: one value per block, per element for the reference's bias terms).
[<Theory>]
[<MemberData(nameof adamMiniCases)>]
let ``Adam-mini with its default partition matches the official adam_mini.py within 1e-12 relative`` (case: string) =
    assertParity case float64Tolerance

/// The Newton–Schulz inputs u_t of a Muon case from its gradients (the buffer does not depend on NS).
let private nsInputs (c: Case) : Matrix<float> list =
    let momentum, nesterov = real c "momentum" Muon.defaults.Momentum, flag c "nesterov" Muon.defaults.Nesterov
    c.Grads
    |> List.mapFold
        (fun buf g ->
            let buf = Elementwise.lerp buf g (1.0 - momentum)
            (if nesterov then Elementwise.lerp g buf momentum else buf), buf)
        (Vector<float>.Build.Dense c.Param0.Count)
    |> fst
    |> List.map (NewtonSchulz.toMatrix c.Shape[0] c.Shape[1])

[<Theory>]
[<InlineData("muon")>]
[<InlineData("muon_wide")>]
let ``the bf16 Newton-Schulz model reproduces torch's bf16 output bit for bit at every step`` (case: string) =
    // torch runs NS in bf16; the model (NewtonSchulz's doc) rounds where PyTorch 2.11's CPU kernels do.
    // The goldens are fixed, so any change of the model's rounding shows here as a nonzero difference.
    let c = read case
    List.zip (nsInputs c) (nsOutputs c)
    |> List.iteri (fun t (u, expected) ->
        let o = NewtonSchulz.orthogonalize NewtonSchulz.Bf16 NewtonSchulz.MaxEps NewtonSchulz.quintic Muon.defaults.NsSteps Muon.defaults.Eps u
        let d = (NewtonSchulz.ofMatrix o - expected).InfinityNorm()
        Assert.True((d = 0.0), sprintf "%s step %d: NS differs from torch by up to %g" case (t + 1) d))

[<Theory>]
[<InlineData("muon")>]
[<InlineData("muon_wide")>]
let ``muon matches torch.optim.Muon within the bf16-derived tolerance`` (case: string) =
    // Derived tolerance: torch's NS output O_t is bf16. Allowing each element of O_t to differ from the
    // model by one bf16 ulp of max|O_t| (float32 accumulation order is an implementation freedom of the
    // BLAS; 2^-7 relative for the 7 stored mantissa bits, i.e. ulp(x) <= 2^-7 * |x|), each step moves p by at most
    // lr' * ulp more, decay only shrinks earlier errors, so |p_spec - p_torch| <= steps * lr' * 2^-7 * max_t max|O_t|;
    // as a normwise relative bound divide by max|p_torch|, plus the float64 tolerance for the rest of the step.
    // (The model is in fact bit-exact on these cases, see the test above, so the measured error is ~1e-16.)
    let c = read case
    let h = { Muon.defaults with Lr = real c "lr" Muon.defaults.Lr; AdjustLrFn = word c "adjust_lr_fn" Muon.defaults.AdjustLrFn }
    let lrAdjusted = Muon.adjustLr h c.Shape[0] c.Shape[1]
    let maxO = nsOutputs c |> List.map (fun o -> o.InfinityNorm()) |> List.max
    let bf16RelativeUlp = 2.0 ** -7.0 // one ulp of a bf16 value relative to its magnitude, at most
    let tol = float c.Steps * lrAdjusted * bf16RelativeUlp * maxO / c.Param.InfinityNorm() + float64Tolerance
    assertParity case tol
