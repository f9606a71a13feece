/// Rprop against torch's formulas worked out independently: a scalar loop over the elements of a few steps, written from
/// torch.optim's _single_tensor_rprop (not from the spec module), with maximize, both etas and both clamps reached, and
/// small cases worked by hand: the step size starting at lr, a sign flip zeroing prev, NaN kept as torch keeps it.
module S3gd.Properties.Spec.RpropTests

open System
open Xunit
open S3gd.Spec.Rules
open S3gd.Properties.Spec.Generators

/// The parameter the runs start from: positive, negative, zero and large elements.
let private p0 = [| 1.0; -1.0; 0.0; 3.0; 0.25; 0.5 |]

/// The gradient of step t (1-based): constant signs, an exact zero, zeros every third step, and signs that flip.
let private grad (t: int) = [| 0.5 * float t; -2.0 / float t; 0.0; 1e-3 * float (t % 3); sin (float t); 0.3 * float (1 - 2 * (t % 2)) |]

/// Steps taken in each run: enough for two sign flips apart (a flip zeroes prev, so the next step keeps the size) to
/// shrink a step size twice and for steady signs to grow one past the maximum of the clamped run.
let private steps = 8

/// A float array as a spec vector.
let private vec (xs: float[]) = Vectors.ofList (List.ofArray xs)

/// torch's _single_tensor_rprop on one element at a time: sign = sign(g*prev), set to etaplus, etaminus and 1 by masks;
/// step_size = min(max(step_size*sign, step_size_min), step_size_max); g = 0 where sign == etaminus;
/// p -= sign(g)*step_size; prev = g.
let private rpropHand (h: Rprop.Hyper) (prev: float[]) (stepSize: float[]) (t: int) (p: float[]) =
    for i in 0 .. p.Length - 1 do
        let g = if h.Maximize then -(grad t)[i] else (grad t)[i]
        let factor =
            match Math.Sign(g * prev[i]) with
            | 1 -> h.EtaPlus
            | -1 -> h.EtaMinus
            | _ -> 1.0
        stepSize[i] <- Math.Min(Math.Max(stepSize[i] * factor, h.StepSizeMin), h.StepSizeMax)
        let g = if factor = h.EtaMinus then 0.0 else g
        p[i] <- p[i] - float (Math.Sign g) * stepSize[i]
        prev[i] <- g
    p

/// Runs the spec from p0 against the hand loop, bit for bit (the same operations in the same order); returns every step
/// size the run held.
let private rpropAgrees (h: Rprop.Hyper) =
    let prev = Array.zeroCreate p0.Length
    // torch.full_like(p, lr)
    let stepSize = Array.create p0.Length h.Lr
    let sizes = ResizeArray<float>()
    let mutable p = vec p0
    let mutable s = Rprop.init h p0.Length
    let mutable ph = Array.copy p0
    for t in 1 .. steps do
        let p', s' = Rprop.step h s (vec (grad t)) p
        ph <- rpropHand h prev stepSize t ph
        requireIdentical (sprintf "param after step %d" t) (vec ph) p'
        requireIdentical (sprintf "prev after step %d" t) (vec prev) s'.Prev
        requireIdentical (sprintf "step_size after step %d" t) (vec stepSize) s'.StepSize
        Assert.Equal(t, s'.Step)
        sizes.AddRange stepSize
        p <- p'
        s <- s'
    sizes

[<Fact>]
let ``Rprop follows torch's formulas with the defaults`` () =
    let sizes = rpropAgrees Rprop.defaults
    // Steady signs grow the step size by etaplus, flips shrink it by etaminus; the default clamps are never reached.
    Assert.Contains(Rprop.defaults.Lr * 1.2, sizes)
    Assert.Contains(Rprop.defaults.Lr * 0.5, sizes)

[<Fact>]
let ``Rprop follows torch's formulas with other etas, maximize, and both clamps reached`` () =
    let h = { Rprop.defaults with Lr = 0.01; EtaMinus = 0.3; EtaPlus = 1.5; StepSizeMin = 2e-3; StepSizeMax = 0.02; Maximize = true }
    let sizes = rpropAgrees h
    Assert.Contains(h.StepSizeMin, sizes)
    Assert.Contains(h.StepSizeMax, sizes)

[<Fact>]
let ``Rprop's step size starts at lr, clamped on the first step, and moves every element by it`` () =
    let h = { Rprop.defaults with Lr = 0.1 }
    let s = Rprop.init h 3
    Assert.Equal<float>([| 0.1; 0.1; 0.1 |], s.StepSize.ToArray())
    Assert.Equal<float>([| 0.0; 0.0; 0.0 |], s.Prev.ToArray())
    // prev is zero, so the first step keeps the step size: p moves by lr against the gradient's sign, not where it is zero.
    let p1, s1 = Rprop.step h s (vec [| 1.0; -1.0; 0.0 |]) (vec [| 1.0; 1.0; 1.0 |])
    Assert.Equal<float>([| 1.0 - 0.1; 1.0 + 0.1; 1.0 |], p1.ToArray())
    Assert.Equal<float>([| 1.0; -1.0; 0.0 |], s1.Prev.ToArray())
    // A learning rate below step_size_min is clamped up on the first step, one above step_size_max down.
    let _, low = Rprop.step { h with StepSizeMin = 0.5 } s (vec [| 1.0; -1.0; 0.0 |]) (vec [| 1.0; 1.0; 1.0 |])
    Assert.Equal<float>([| 0.5; 0.5; 0.5 |], low.StepSize.ToArray())
    let _, high = Rprop.step { h with StepSizeMax = 0.01 } s (vec [| 1.0; -1.0; 0.0 |]) (vec [| 1.0; 1.0; 1.0 |])
    Assert.Equal<float>([| 0.01; 0.01; 0.01 |], high.StepSize.ToArray())

[<Fact>]
let ``Rprop grows the step where the sign holds, shrinks it and skips the step where it flips, and keeps it after a zero`` () =
    let h = { Rprop.defaults with Lr = 0.1 }
    let s = { Rprop.State.Step = 1; Rprop.State.Prev = vec [| 1.0; -1.0; 0.0 |]; Rprop.State.StepSize = vec [| 0.1; 0.1; 0.1 |] }
    let p, s' = Rprop.step h s (vec [| 2.0; 1.0; 3.0 |]) (vec [| 1.0; 1.0; 1.0 |])
    Assert.Equal<float>([| 0.1 * 1.2; 0.1 * 0.5; 0.1 |], s'.StepSize.ToArray())
    // The flipped element's gradient is zeroed: no step, and prev zero, so its next step keeps the step size.
    Assert.Equal<float>([| 1.0 - 0.1 * 1.2; 1.0; 1.0 - 0.1 |], p.ToArray())
    Assert.Equal<float>([| 2.0; 0.0; 3.0 |], s'.Prev.ToArray())
    let _, s'' = Rprop.step h s' (vec [| 2.0; 1.0; -3.0 |]) p
    Assert.Equal<float>([| 0.1 * 1.2 * 1.2; 0.1 * 0.5; 0.1 * 0.5 |], s''.StepSize.ToArray())

[<Fact>]
let ``Rprop keeps NaN as torch does: a NaN sign makes the step size NaN and keeps the gradient as prev`` () =
    let h = Rprop.defaults
    let s = { Rprop.State.Step = 1; Rprop.State.Prev = vec [| 1.0; 0.0; nan |]; Rprop.State.StepSize = vec [| 0.1; 0.1; 0.1 |] }
    // NaN*1, inf*0 and 1*NaN are NaN: torch's masks leave such a sign NaN, and grad[sign == etaminus] = 0 keeps g.
    let p, s' = Rprop.step h s (vec [| nan; infinity; 1.0 |]) (vec [| 1.0; 1.0; 1.0 |])
    Assert.All(p.ToArray(), fun x -> Assert.True(Double.IsNaN x))
    Assert.All(s'.StepSize.ToArray(), fun x -> Assert.True(Double.IsNaN x))
    Assert.True(Double.IsNaN s'.Prev[0])
    Assert.Equal<float>([| infinity; 1.0 |], s'.Prev.ToArray()[1..])

[<Fact>]
let ``Rprop's registry entry takes etas and step_sizes as torch's pairs and rejects etas outside 0 < etaminus < 1 < etaplus`` () =
    let info = Rprop.info
    Assert.Equal<(string * string * string) list>([ "etas", "etaminus", "etaplus"; "step_sizes", "step_size_min", "step_size_max" ], info.Pairs)
    for name, bad in [ "etaminus", 0.0; "etaminus", 1.0; "etaplus", 1.0; "step_size_min", -1e-6; "lr", -0.1 ] do
        match Hyper.resolve info.Hypers (Map [ name, Real bad ]) with
        | Ok _ -> failwithf "%s=%g was accepted" name bad
        | Error e -> Assert.Contains(name, e)
    match Hyper.resolve info.Hypers Map.empty with
    | Ok v -> Assert.Equal(Rprop.defaults.StepSizeMax, Hyper.getReal v "step_size_max")
    | Error e -> failwith e
