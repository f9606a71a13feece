/// Rules that reduce to one another in their documented limits.
module S3gd.Properties.Spec.RelationTests

open System
open FsCheck.FSharp
open FsCheck.Xunit
open S3gd.Spec.Rules
open S3gd.Properties.Spec.Generators

/// Cases per property: enough to cover the hyperparameter ranges, few enough to stay fast on two cores.
[<Literal>]
let private cases = 60

/// A positive eps: with eps = 0 an exact zero gradient on the first step divides 0 by 0 in both rules, and
/// the NaN then stays in LaProp's normalized momentum but not in Adam's, so the limits hold for eps > 0 only.
let private positiveEps = Gen.oneof [ Gen.constant 1e-15; real (-10.0) (-6.0) |> Gen.map (fun e -> 10.0 ** e) ]

/// Random Adam hyperparameters (coupled decay) in their valid ranges.
let private adamHyper =
    gen {
        let! lr = lr
        let! b1 = beta
        let! b2 = beta
        let! eps = eps
        let! wd = weightDecay
        let! amsgrad = Gen.elements [ false; true ]
        let! maximize = Gen.elements [ false; true ]
        return { Adam.defaults with Lr = lr; Beta1 = b1; Beta2 = b2; Eps = eps; WeightDecay = wd; Amsgrad = amsgrad; Maximize = maximize }
    }

[<Property(MaxTest = cases)>]
let ``AdamW with weight_decay 0 is Adam, bit for bit`` () =
    Gens.forAll (Gen.zip adamHyper trajectory) (fun (h, t) ->
        let h = { h with WeightDecay = 0.0 }
        let n = t.Param.Count
        let adam = run (Adam.step h) (Adam.init h n) t
        let adamw = run (AdamW.step h) (AdamW.init h n) t
        List.iteri2
            (fun k (pa, (sa: Adam.State)) (pw, (sw: AdamW.State)) ->
                requireIdentical (sprintf "param after step %d" (k + 1)) pa pw
                requireIdentical (sprintf "exp_avg after step %d" (k + 1)) sa.ExpAvg sw.ExpAvg
                requireIdentical (sprintf "exp_avg_sq after step %d" (k + 1)) sa.ExpAvgSq sw.ExpAvgSq)
            adam adamw)

[<Property(MaxTest = cases)>]
let ``Adam with decoupled_weight_decay is AdamW, bit for bit`` () =
    Gens.forAll (Gen.zip adamHyper trajectory) (fun (h, t) ->
        let n = t.Param.Count
        let adam = run (Adam.step { h with DecoupledWeightDecay = true }) (Adam.init h n) t
        let adamw = run (AdamW.step h) (AdamW.init h n) t
        List.iteri2 (fun k (pa, _) (pw, _) -> requireIdentical (sprintf "param after step %d" (k + 1)) pa pw) adam adamw)

/// Lion with beta1 = beta2 = b is Signum with momentum b, no bias correction and no Nesterov: both step by
/// sign(b*m + (1-b)*g) and keep that same EMA. Lion writes the EMA as b*m + (1-b)*g and Signum as torch.lerp, so
/// the momenta agree to rounding (1e-12 relative) and the signs, hence the parameters, agree exactly unless an
/// element's momentum lies within rounding of zero (which uniformly drawn values never do).
[<Property(MaxTest = cases)>]
let ``Lion with beta1 = beta2 is Signum without bias correction or Nesterov`` () =
    let g =
        gen {
            let! lr = lr
            let! b = beta
            let! t = trajectory
            return lr, b, t
        }
    Gens.forAll g (fun (lr, b, t) ->
        let lion = { Lion.defaults with Lr = lr; Beta1 = b; Beta2 = b; InitialLr = lr }
        let signum = { Signum.defaults with Lr = lr; Momentum = b; CorrectBias = false; Nesterov = false }
        let n = t.Param.Count
        let ls = run (Lion.step lion) (Lion.init n) t
        let ss = run (Signum.step signum [ n ]) (Signum.init n) t
        List.iteri2
            (fun k (pl, (sl: Lion.State)) (ps, (sg: Signum.State)) ->
                requireIdentical (sprintf "param after step %d" (k + 1)) pl ps
                // 1e-12: lerp and multiply-add round differently, by a few ulps of values below 10.
                requireClose (sprintf "exp_avg after step %d" (k + 1)) 1e-12 sl.ExpAvg sg.ExpAvg)
            ls ss)

/// LaProp with beta1 = 0 keeps m = g/(sqrt(v/bc2) + eps) and bc1 = 1, so it steps by lr*g/(sqrt(v_hat) + eps):
/// exactly Adam with beta1 = 0 (m = g, bc1 = 1, denom = sqrt(v)/sqrt(bc2) + eps) and the same beta2 and eps.
/// There is no exact equality: LaProp rounds sqrt(v/bc2) and lerp(v, g^2, 1-b2), Adam sqrt(v)/sqrt(bc2) and
/// b2*v + (1-b2)*g*g, so the two agree to rounding. For beta1 > 0 they differ in substance (LaProp averages
/// normalized gradients, Adam normalizes the averaged gradient). Decay is compared against AdamW's decoupled
/// decay, which LaProp's p - lr*wd*p equals to rounding.
[<Property(MaxTest = cases)>]
let ``LaProp with beta1 = 0 is Adam(W) with beta1 = 0 to rounding`` () =
    let g =
        gen {
            let! lr = lr
            let! b2 = beta
            let! eps = positiveEps
            let! wd = weightDecay
            let! t = trajectory
            return lr, b2, eps, wd, t
        }
    Gens.forAll g (fun (lr, b2, eps, wd, t) ->
        let laprop = { LaProp.defaults with Lr = lr; Beta1 = 0.0; Beta2 = b2; Eps = eps; CorrectBias = true; WeightDecay = wd }
        let adamw = { AdamW.defaults with Lr = lr; Beta1 = 0.0; Beta2 = b2; Eps = eps; WeightDecay = wd }
        let n = t.Param.Count
        let ls = run (LaProp.step laprop) (LaProp.init n) t
        let ads = run (AdamW.step adamw) (AdamW.init adamw n) t
        // 1e-12: the rules round differently (see above) by a few ulps per step, relative to max(1, |p|).
        List.iteri2 (fun k (pl, _) (pa, _) -> requireClose (sprintf "param after step %d" (k + 1)) 1e-12 pl pa) ls ads)

/// AdEMAMix with alpha = 0 drops the slow moment: u = (m_fast/bc1) / (sqrt(v/bc2) + eps), Adam's update with
/// beta1 = beta_fast, the same beta2 and the same eps, whatever beta_slow and the warm-ups are. It equals
/// AdamW (same decoupled decay) to rounding: AdEMAMix divides m by bc1 and v by bc2 before the root and writes v
/// with lerp, Adam folds 1/bc1 into the step size and divides sqrt(v) by sqrt(bc2).
[<Property(MaxTest = cases)>]
let ``AdEMAMix with alpha = 0 is Adam(W) with the same eps to rounding`` () =
    let g =
        gen {
            let! lr = lr
            let! bFast = beta
            let! b2 = beta
            let! bSlow = beta
            let! eps = positiveEps
            let! wd = weightDecay
            // 10: warm-ups up to 10 steps, longer than a trajectory, so both sides of their ends are drawn.
            let! slowWarmup = Gen.choose (0, 10)
            let! alphaWarmup = Gen.choose (0, 10)
            let! t = trajectory
            return { AdEMAMix.defaults with
                        Lr = lr; BetaFast = bFast; Beta2 = b2; BetaSlow = bSlow; Eps = eps; Alpha = 0.0; WeightDecay = wd
                        NumBetaSlowWarmupSteps = slowWarmup; NumAlphaWarmupSteps = alphaWarmup },
                   t
        }
    Gens.forAll g (fun (h, t) ->
        let adamw = { AdamW.defaults with Lr = h.Lr; Beta1 = h.BetaFast; Beta2 = h.Beta2; Eps = h.Eps; WeightDecay = h.WeightDecay }
        let n = t.Param.Count
        let es = run (AdEMAMix.step h) (AdEMAMix.init n) t
        let ads = run (AdamW.step adamw) (AdamW.init adamw n) t
        // 1e-12: the rules round differently (see above) by a few ulps per step, relative to max(1, |p|).
        List.iteri2 (fun k (pe, _) (pa, _) -> requireClose (sprintf "param after step %d" (k + 1)) 1e-12 pe pa) es ads)

/// S3GD with beta = 0 keeps m = sign(g), so it is signSGD: p <- p*(1 - lr*wd) - lr*sign(g), bit for bit.
[<Property(MaxTest = cases)>]
let ``S3GD with beta = 0 is signSGD`` () =
    let g =
        gen {
            let! lr = lr
            let! wd = weightDecay
            let! t = trajectory
            return lr, wd, t
        }
    Gens.forAll g (fun (lr, wd, t) ->
        let h = { SmoothedSignSgd.defaults with Lr = lr; Beta = 0.0; WeightDecay = wd; InitialLr = lr }
        let steps = run (SmoothedSignSgd.step h) (SmoothedSignSgd.init t.Param.Count) t
        let ps = t.Param :: (steps |> List.map fst)
        List.iteri2
            (fun k (g: Vec) (p': Vec) ->
                let p = ps[k]
                let expected = p.MapIndexed(fun i x -> x * (1.0 - lr * wd) - lr * float (Math.Sign g[i]))
                requireIdentical (sprintf "param after step %d" (k + 1)) expected p')
            t.Grads (List.tail ps))

/// MAdam stores v scaled by a power of two and multiplies it back out; in float64 every such scaling is exact
/// (no value here comes near under- or overflow), so the parameters do not depend on scale_log2 at all.
[<Property(MaxTest = cases)>]
let ``MAdam's parameters do not depend on scale_log2`` () =
    let g =
        gen {
            let! lr = lr
            let! b1 = beta
            let! b2 = beta
            // 20: scale_log2 in [-40, 40], far from float64's under- and overflow.
            let! half = Gen.choose (-20, 20)
            let! t = trajectory
            return { MAdam.defaults with Lr = lr; Beta1 = b1; Beta2 = b2; ScaleLog2 = 2 * half }, t
        }
    Gens.forAll g (fun (h, t) ->
        let n = t.Param.Count
        let scaled = run (MAdam.step h) (MAdam.init n) t
        let plain = run (MAdam.step { h with ScaleLog2 = 0 }) (MAdam.init n) t
        List.iteri2 (fun k (ps, _) (pp, _) -> requireIdentical (sprintf "param after step %d" (k + 1)) ps pp) scaled plain)
