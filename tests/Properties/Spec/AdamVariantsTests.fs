/// Adamax, NAdam and RAdam against torch's formulas worked out independently: scalar loops over the elements of a few
/// steps, written from torch.optim's _single_tensor_* functions (not from the spec modules), with maximize and both
/// forms of weight decay, and RAdam's unrectified (steps 1 to 5 with default betas) and rectified steps.
module S3gd.Properties.Spec.AdamVariantsTests

open System
open Xunit
open S3gd.Spec.Rules
open S3gd.Properties.Spec.Generators

/// The parameter the runs start from: positive, negative, zero and large elements.
let private p0 = [| 1.0; -1.0; 0.0; 3.0; 0.25 |]

/// The gradient of step t (1-based): different every step, with an exact zero and a sign change.
let private grad (t: int) = [| 0.5 * float t; -2.0 / float t; 0.0; 1e-3 * float (t % 3); sin (float t) |]

/// Steps taken in each run: past RAdam's first rectified step (6) with default betas.
let private steps = 8

/// Agreement of a hand-computed trajectory with the spec's: parameter updates relative to the learning rate, and states,
/// to 1e-12 (the loops regroup torch's arithmetic, which moves a few ulps).
let private agree what (lr: float) (pBefore: float[]) (hand: float[]) (spec: Vec) =
    let delta (p: float[]) = Vectors.ofList [ for i in 0 .. p.Length - 1 -> (p[i] - pBefore[i]) / lr ]
    requireClose (what + " update/lr") 1e-12 (delta hand) (delta (spec.ToArray()))

/// Runs a spec rule's typed step from p0 over the gradients, checking each step's parameter against the hand loop's;
/// `hand t p` steps the hand loop's own state in place and returns the parameter after step t.
let private runAgainst what (lr: float) (specStep: 's -> Vec -> Vec -> Vec * 's) (s0: 's) (hand: int -> float[] -> float[]) =
    let mutable ps = Vectors.ofList (List.ofArray p0)
    let mutable s = s0
    let mutable ph = Array.copy p0
    for t in 1 .. steps do
        let before = Array.copy ph
        let p', s' = specStep s (Vectors.ofList (List.ofArray (grad t))) ps
        ph <- hand t (Array.copy ph)
        agree (sprintf "%s step %d" what t) lr before ph p'
        requireClose (sprintf "%s step %d param" what t) 1e-13 (Vectors.ofList (List.ofArray ph)) p'
        ps <- p'
        s <- s'
    s

// ---- Adamax ----

/// torch's _single_tensor_adamax on one element at a time: the first moment, the infinity norm max(b2*u, |g| + eps),
/// p -= lr/(1 - b1^t) * m/u.
let private adamaxHand (h: Adamax.Hyper) (m: float[]) (u: float[]) (t: int) (p: float[]) =
    let clr = h.Lr / (1.0 - Math.Pow(h.Beta1, float t))
    for i in 0 .. p.Length - 1 do
        let g = (if h.Maximize then -(grad t)[i] else (grad t)[i]) + h.WeightDecay * p[i]
        m[i] <- h.Beta1 * m[i] + (1.0 - h.Beta1) * g
        u[i] <- Math.Max(h.Beta2 * u[i], Math.Abs g + h.Eps)
        p[i] <- p[i] - clr * m[i] / u[i]
    p

let private adamaxAgrees (h: Adamax.Hyper) =
    let m = Array.zeroCreate p0.Length
    let u = Array.zeroCreate p0.Length
    let s = runAgainst "adamax" h.Lr (Adamax.step h) (Adamax.init p0.Length) (adamaxHand h m u)
    requireClose "exp_avg" 1e-13 (Vectors.ofList (List.ofArray m)) s.ExpAvg
    requireClose "exp_inf" 1e-13 (Vectors.ofList (List.ofArray u)) s.ExpInf
    Assert.Equal(steps, s.Step)

[<Fact>]
let ``Adamax follows torch's formulas with the defaults`` () = adamaxAgrees Adamax.defaults

[<Fact>]
let ``Adamax follows torch's formulas with maximize and coupled weight decay`` () =
    adamaxAgrees { Adamax.defaults with Lr = 0.01; Beta1 = 0.8; Beta2 = 0.95; Eps = 1e-6; WeightDecay = 0.1; Maximize = true }

[<Fact>]
let ``Adamax's infinity norm is at least eps where the gradient is zero`` () =
    let _, s = Adamax.step Adamax.defaults (Adamax.init p0.Length) (Vectors.ofList (List.ofArray (grad 1))) (Vectors.ofList (List.ofArray p0))
    Assert.Equal(Adamax.defaults.Eps, s.ExpInf[2])

// ---- NAdam ----

/// torch's _single_tensor_nadam on one element at a time, with its mu_product kept as torch keeps it (a running product
/// updated each step): denom = sqrt(v/bc2) + eps; p -= lr*(1-mu_t)/(1-prod_t)*g/denom + lr*mu_{t+1}/(1-prod_t*mu_{t+1})*m/denom.
let private nadamHand (h: NAdam.Hyper) (m: float[]) (v: float[]) (product: float ref) (t: int) (p: float[]) =
    let muOf (k: int) = h.Beta1 * (1.0 - 0.5 * Math.Pow(0.96, float k * h.MomentumDecay))
    let muT, muNext = muOf t, muOf (t + 1)
    product.Value <- product.Value * muT
    let bc2 = 1.0 - Math.Pow(h.Beta2, float t)
    let gradWeight = h.Lr * (1.0 - muT) / (1.0 - product.Value)
    let momentumWeight = h.Lr * muNext / (1.0 - product.Value * muNext)
    for i in 0 .. p.Length - 1 do
        if h.DecoupledWeightDecay then p[i] <- p[i] * (1.0 - h.Lr * h.WeightDecay)
        let g0 = if h.Maximize then -(grad t)[i] else (grad t)[i]
        let g = if h.DecoupledWeightDecay then g0 else g0 + h.WeightDecay * p[i]
        m[i] <- h.Beta1 * m[i] + (1.0 - h.Beta1) * g
        v[i] <- h.Beta2 * v[i] + (1.0 - h.Beta2) * g * g
        let denom = Math.Sqrt(v[i] / bc2) + h.Eps
        p[i] <- p[i] - gradWeight * g / denom - momentumWeight * m[i] / denom
    p

let private nadamAgrees (h: NAdam.Hyper) =
    let m = Array.zeroCreate p0.Length
    let v = Array.zeroCreate p0.Length
    let product = ref 1.0
    let s = runAgainst "nadam" h.Lr (NAdam.step h) (NAdam.init p0.Length) (nadamHand h m v product)
    requireClose "exp_avg" 1e-13 (Vectors.ofList (List.ofArray m)) s.ExpAvg
    requireClose "exp_avg_sq" 1e-13 (Vectors.ofList (List.ofArray v)) s.ExpAvgSq
    // torch's mu_product state after the run: the spec's product from the step number.
    Assert.Equal(product.Value, NAdam.muProduct h.Beta1 h.MomentumDecay s.Step, 15)

[<Fact>]
let ``NAdam follows torch's formulas with the defaults`` () = nadamAgrees NAdam.defaults

[<Fact>]
let ``NAdam follows torch's formulas with maximize and coupled weight decay`` () =
    nadamAgrees { NAdam.defaults with Lr = 0.01; Beta1 = 0.85; Beta2 = 0.99; WeightDecay = 0.05; Maximize = true }

[<Fact>]
let ``NAdam follows torch's formulas with decoupled weight decay and another momentum decay`` () =
    nadamAgrees { NAdam.defaults with Lr = 0.01; WeightDecay = 0.1; DecoupledWeightDecay = true; MomentumDecay = 0.02; Eps = 1e-6 }

[<Fact>]
let ``NAdam's mu_product is torch's running product of the momentum schedule`` () =
    let b1, psi = 0.9, 4e-3
    Assert.Equal(1.0, NAdam.muProduct b1 psi 0)
    let mu1 = b1 * (1.0 - 0.5 * Math.Pow(0.96, psi))
    let mu2 = b1 * (1.0 - 0.5 * Math.Pow(0.96, 2.0 * psi))
    Assert.Equal(mu1, NAdam.muProduct b1 psi 1)
    Assert.Equal(mu1 * mu2, NAdam.muProduct b1 psi 2)

// ---- RAdam ----

/// torch's rho_t of step t: the length of the approximated SMA.
let private rho (beta2: float) (t: int) =
    let rhoInf = 2.0 / (1.0 - beta2) - 1.0
    let b2t = Math.Pow(beta2, float t)
    rhoInf - 2.0 * float t * b2t / (1.0 - b2t)

/// torch's _single_tensor_radam on one element at a time: p -= lr*m/bc1 while rho_t <= 5, else
/// p -= lr*m/bc1 * r_t * sqrt(bc2)/(sqrt(v) + eps).
let private radamHand (h: RAdam.Hyper) (m: float[]) (v: float[]) (t: int) (p: float[]) =
    let bc1 = 1.0 - Math.Pow(h.Beta1, float t)
    let bc2 = 1.0 - Math.Pow(h.Beta2, float t)
    let rhoInf = 2.0 / (1.0 - h.Beta2) - 1.0
    let rhoT = rho h.Beta2 t
    for i in 0 .. p.Length - 1 do
        if h.DecoupledWeightDecay then p[i] <- p[i] * (1.0 - h.Lr * h.WeightDecay)
        let g0 = if h.Maximize then -(grad t)[i] else (grad t)[i]
        let g = if h.DecoupledWeightDecay then g0 else g0 + h.WeightDecay * p[i]
        m[i] <- h.Beta1 * m[i] + (1.0 - h.Beta1) * g
        v[i] <- h.Beta2 * v[i] + (1.0 - h.Beta2) * g * g
        if rhoT > 5.0 then
            let r = Math.Sqrt((rhoT - 4.0) * (rhoT - 2.0) * rhoInf / ((rhoInf - 4.0) * (rhoInf - 2.0) * rhoT))
            p[i] <- p[i] - h.Lr * m[i] / bc1 * r * Math.Sqrt bc2 / (Math.Sqrt v[i] + h.Eps)
        else p[i] <- p[i] - h.Lr * m[i] / bc1
    p

let private radamAgrees (h: RAdam.Hyper) =
    let m = Array.zeroCreate p0.Length
    let v = Array.zeroCreate p0.Length
    let s = runAgainst "radam" h.Lr (RAdam.step h) (RAdam.init p0.Length) (radamHand h m v)
    requireClose "exp_avg" 1e-13 (Vectors.ofList (List.ofArray m)) s.ExpAvg
    requireClose "exp_avg_sq" 1e-13 (Vectors.ofList (List.ofArray v)) s.ExpAvgSq

[<Fact>]
let ``RAdam with default betas is unrectified on steps 1 to 5 and rectified from step 6`` () =
    for t in 1 .. steps do
        Assert.Equal((t >= 6), rho RAdam.defaults.Beta2 t > 5.0)
        Assert.Equal((t >= 6), (RAdam.rectification RAdam.defaults.Beta2 t).IsSome)

[<Fact>]
let ``RAdam's unrectified steps are bias-corrected momentum SGD`` () =
    let h = RAdam.defaults
    let p1, s1 = RAdam.step h (RAdam.init p0.Length) (Vectors.ofList (List.ofArray (grad 1))) (Vectors.ofList (List.ofArray p0))
    // Step 1: m/bc1 = g, so p moves by lr*g.
    requireClose "step 1" 1e-15 (Vectors.ofList [ for i in 0 .. p0.Length - 1 -> p0[i] - h.Lr * (grad 1)[i] ]) p1
    Assert.Equal(1, s1.Step)

[<Fact>]
let ``RAdam follows torch's formulas on both branches with the defaults`` () = radamAgrees RAdam.defaults

[<Fact>]
let ``RAdam follows torch's formulas with maximize and coupled weight decay`` () =
    radamAgrees { RAdam.defaults with Lr = 0.01; Beta1 = 0.8; Beta2 = 0.99; WeightDecay = 0.05; Maximize = true }

[<Fact>]
let ``RAdam follows torch's formulas with decoupled weight decay`` () =
    radamAgrees { RAdam.defaults with Lr = 0.01; Beta2 = 0.9; Eps = 1e-6; WeightDecay = 0.1; DecoupledWeightDecay = true }
