/// Single steps worked out by hand from each rule's equations (not outputs pasted back), and the schedules.
module S3gd.Properties.Spec.HandCheckedTests

open System
open Xunit
open S3gd.Spec.Rules
open S3gd.Properties.Spec.Generators

/// A gradient with a positive, a negative, an exact zero and a small element.
let private g = Vectors.ofList [ 0.5; -2.0; 0.0; 1e-3 ]

/// A parameter to step.
let private p = Vectors.ofList [ 1.0; -1.0; 0.25; 3.0 ]

/// The expected parameter, element by element: p_i - f(g_i).
let private minus (f: float -> float) = p.MapIndexed(fun i x -> x - f g[i])

/// Agreement to 1e-14 relative: the hand formulas regroup the rules' arithmetic, which moves a few ulps.
let private near what (expected: Vec) (actual: Vec) = requireClose what 1e-14 expected actual

/// sign as an elementwise expectation (sign(0) = 0).
let private sgn (x: float) = float (Math.Sign x)

/// Adam's first step: m = (1-b1)g, v = (1-b2)g^2, so m/bc1 = g and sqrt(v)/sqrt(bc2) = |g|; the step is
/// lr*g/(|g| + eps), about lr*sign(g). With a constant gradient m_t = (1-b1^t)g and v_t = (1-b2^t)g^2, so every
/// later step is the same.
[<Fact>]
let ``Adam moves by lr*g/(|g|+eps) on every step of a constant gradient`` () =
    let h = Adam.defaults
    let p1, s1 = Adam.step h (Adam.init h 4) g p
    near "step 1" (minus (fun gi -> h.Lr * gi / (abs gi + h.Eps))) p1
    let p2, _ = Adam.step h s1 g p1
    near "step 2" (p1.MapIndexed(fun i x -> x - h.Lr * g[i] / (abs g[i] + h.Eps))) p2
    let hA = { h with Amsgrad = true }
    let pa, _ = Adam.step hA (Adam.init hA 4) g p
    near "amsgrad" p1 pa

/// Adam with maximize and coupled decay: g' = -g + wd*p, and the first step is lr*g'/(|g'|+eps).
[<Fact>]
let ``Adam's first step with maximize and coupled decay uses -g + wd*p`` () =
    let h = { Adam.defaults with Maximize = true; WeightDecay = 0.1 }
    let p1, _ = Adam.step h (Adam.init h 4) g p
    let g' = p.MapIndexed(fun i x -> -g[i] + 0.1 * x)
    near "step 1" (p.MapIndexed(fun i x -> x - h.Lr * g'[i] / (abs g'[i] + h.Eps))) p1

/// AdamW's first step: p*(1 - lr*wd), then Adam's lr*g/(|g|+eps).
[<Fact>]
let ``AdamW's first step decays then moves by lr*g/(|g|+eps)`` () =
    let h = AdamW.defaults
    let p1, _ = AdamW.step h (AdamW.init h 4) g p
    near "step 1" (p.MapIndexed(fun i x -> x * (1.0 - h.Lr * h.WeightDecay) - h.Lr * g[i] / (abs g[i] + h.Eps))) p1

/// RMSprop's first step: sq = (1-alpha)g^2, so the step is lr*g/(sqrt(1-alpha)|g| + eps); centered subtracts
/// ga^2 = (1-alpha)^2 g^2, leaving alpha(1-alpha)g^2 under the root; the first momentum buffer is g/avg itself.
[<Fact>]
let ``RMSprop's first step divides by sqrt(1-alpha)|g| + eps, centered by sqrt(alpha(1-alpha))|g| + eps`` () =
    let h = RmsProp.defaults
    let p1, _ = RmsProp.step h (RmsProp.init h 4) g p
    near "plain" (minus (fun gi -> h.Lr * gi / (sqrt (1.0 - h.Alpha) * abs gi + h.Eps))) p1
    let hc = { h with Centered = true; Momentum = 0.9 }
    let pc, sc = RmsProp.step hc (RmsProp.init hc 4) g p
    near "centered with momentum" (minus (fun gi -> h.Lr * gi / (sqrt (h.Alpha * (1.0 - h.Alpha)) * abs gi + h.Eps))) pc
    near "grad_avg" (g * (1.0 - h.Alpha)) sc.GradAvg.Value

/// S3GD: m_1 = (1-b)sign(g), so p_1 = p - lr(1-b)sign(g); with the same gradient m_2 = b(1-b)s + (1-b)s = (1-b^2)s.
[<Fact>]
let ``S3GD steps by lr(1-b)sign(g), then lr(1-b^2)sign(g)`` () =
    let h = SmoothedSignSgd.defaults
    let p1, s1 = SmoothedSignSgd.step h (SmoothedSignSgd.init 4) g p
    near "step 1" (minus (fun gi -> h.Lr * (1.0 - h.Beta) * sgn gi)) p1
    let p2, _ = SmoothedSignSgd.step h s1 g p1
    near "step 2" (p1.MapIndexed(fun i x -> x - h.Lr * (1.0 - h.Beta * h.Beta) * sgn g[i])) p2

/// S3GD's decoupled_weight_decay divides wd by initial_lr: with lr = initial_lr/2 the decay factor is 1 - wd/2.
[<Fact>]
let ``S3GD's decoupled decay is lr*wd/initial_lr`` () =
    let h = { SmoothedSignSgd.defaults with Lr = 5e-5; InitialLr = 1e-4; WeightDecay = 0.1; DecoupledWeightDecay = true }
    let p1, _ = SmoothedSignSgd.step h (SmoothedSignSgd.init 4) g p
    near "step 1" (p.MapIndexed(fun i x -> x * (1.0 - 0.05) - h.Lr * (1.0 - h.Beta) * sgn g[i])) p1

/// Signum's first step: m = (1-b)g has g's sign, and so does the Nesterov form b(1-b)g/(1-b^2) + g; either way
/// p_1 = p - lr*sign(g); shape scaling on a 2x2 parameter multiplies it by 2/(2+2) = 1/2.
[<Fact>]
let ``Signum's first step is lr*sign(g), halved by shape scaling on 2x2`` () =
    for nesterov in [ false; true ] do
        for correct in [ false; true ] do
            let h = { Signum.defaults with Nesterov = nesterov; CorrectBias = correct }
            let p1, _ = Signum.step h [ 4 ] (Signum.init 4) g p
            near (sprintf "nesterov=%b correct_bias=%b" nesterov correct) (minus (fun gi -> h.Lr * sgn gi)) p1
    let h = { Signum.defaults with UseShapeScaling = true }
    let p1, _ = Signum.step h [ 2; 2 ] (Signum.init 4) g p
    near "shape scaled" (minus (fun gi -> h.Lr * 0.5 * sgn gi)) p1

/// Signum's shape scaling needs a 2-D parameter: a 1-D one is an error naming the parameter.
[<Fact>]
let ``Signum with shape scaling rejects a 1-D parameter by name`` () =
    let rule = Signum.info.Create(Hyper.resolve Signum.info.Hypers (Map [ "use_shape_scaling", Flag true ]) |> function Ok h -> h | Error e -> failwith e)
    match rule with
    | Error e -> failwith e
    | Ok r ->
        let ex = Assert.Throws<ArgumentException>(fun () -> r.Init { Name = "bias"; Shape = [ 4 ]; Value = p } |> ignore)
        Assert.Contains("bias", ex.Message)

/// Lion's first step: sign(b1*0 + (1-b1)g) = sign(g), so p_1 = p - lr*sign(g), and the kept momentum is (1-b2)g.
[<Fact>]
let ``Lion's first step is lr*sign(g) and keeps (1-b2)g`` () =
    let h = Lion.defaults
    let p1, s1 = Lion.step h (Lion.init 4) g p
    near "step 1" (minus (fun gi -> h.Lr * sgn gi)) p1
    near "exp_avg" (g * (1.0 - h.Beta2)) s1.ExpAvg

/// LaProp's first step: v_hat = g^2, g' = g/(|g|+eps), m_hat = g', so p_1 = p - lr*g/(|g|+eps).
[<Fact>]
let ``LaProp's first step is lr*g/(|g|+eps)`` () =
    let h = LaProp.defaults
    let p1, _ = LaProp.step h (LaProp.init 4) g p
    near "step 1" (minus (fun gi -> h.Lr * gi / (abs gi + h.Eps))) p1

/// AdEMAMix's first step: m_fast/bc1 = g, m_slow = (1-b_slow)g (not corrected), sqrt(v/bc2) = |g|, so
/// u = (1 + alpha(1-b_slow))g/(|g|+eps); with an alpha warm-up of 4 steps alpha_1 = alpha/4.
[<Fact>]
let ``AdEMAMix's first step is (1 + alpha(1-b_slow))*lr*g/(|g|+eps)`` () =
    let h = AdEMAMix.defaults
    let p1, _ = AdEMAMix.step h (AdEMAMix.init 4) g p
    near "step 1" (minus (fun gi -> h.Lr * (1.0 + h.Alpha * (1.0 - h.BetaSlow)) * gi / (abs gi + h.Eps))) p1
    let hw = { h with NumAlphaWarmupSteps = 4 }
    let pw, _ = AdEMAMix.step hw (AdEMAMix.init 4) g p
    near "alpha warm-up" (minus (fun gi -> h.Lr * (1.0 + h.Alpha / 4.0 * (1.0 - h.BetaSlow)) * gi / (abs gi + h.Eps))) pw

/// Simplified AdEMAMix's first step: m = g and bc1 = (1-b)/(1-b) = 1, sqrt(v/bc2) = |g|, so
/// u = (alpha + 1)g/(|g|+eps).
[<Fact>]
let ``simplified AdEMAMix's first step is (1 + alpha)*lr*g/(|g|+eps)`` () =
    let h = SimAdEMAMix.defaults
    let p1, _ = SimAdEMAMix.step h (SimAdEMAMix.init 4) g p
    near "step 1" (minus (fun gi -> h.Lr * (1.0 + h.Alpha) * gi / (abs gi + h.Eps))) p1

/// MAdam's first step: m_hat = g and v'_hat = s*g^2, so u = sqrt(s)*g/(sqrt(s)|g|) = sign(g), and 0 where m = 0.
[<Fact>]
let ``MAdam's first step is lr*sign(g), zero where the gradient is zero`` () =
    let h = { MAdam.defaults with ScaleLog2 = 16 }
    let p1, _ = MAdam.step h (MAdam.init 4) g p
    near "step 1" (minus (fun gi -> h.Lr * sgn gi)) p1

/// The schedules: f_inv is the exact inverse of f without its 1e-8 offset, f0(b) = log(0.5)/log(b) - 1, so
/// f_inv(f(b)) = b + 1e-8: the half-life schedule starts at beta_start + 1e-8, and halfway f0 of it is the mean
/// of f(beta_start) and f(beta_end); both schedules give their end value from the last warm-up step on, and the
/// linear one is halfway at half the steps.
[<Fact>]
let ``the warm-up schedules start, pass halfway and end where their formulas say`` () =
    // 1e-12: log and pow round a few ulps.
    Assert.Equal(0.9 + 1e-8, Schedules.linearHalfLife 0 0.9999 0.9 10, 12)
    let mid = Schedules.linearHalfLife 5 0.9999 0.9 10
    let meanHalfLife = (Schedules.halfLifeSteps 0.9 + Schedules.halfLifeSteps 0.9999) / 2.0
    // 1e-9 relative: log of a beta this close to 1 loses about 1e-12 relative, amplified by the division.
    Assert.True(abs (log 0.5 / log mid - 1.0 - meanHalfLife) <= 1e-9 * meanHalfLife, sprintf "mid-way beta %.17g" mid)
    Assert.Equal(0.9999, Schedules.linearHalfLife 10 0.9999 0.9 10)
    Assert.Equal(1.0, Schedules.linear 5 2.0 0.0 10)
    Assert.Equal(2.0, Schedules.linear 10 2.0 0.0 10)
    Assert.Equal(2.0, Schedules.linear 3 2.0 0.0 0)
