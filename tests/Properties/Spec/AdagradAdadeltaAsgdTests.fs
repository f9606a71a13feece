/// Adagrad, Adadelta and ASGD against torch's formulas worked out independently: scalar loops over the elements of a few
/// steps, written from torch.optim's _single_tensor_* functions (not from the spec modules), with maximize, weight decay,
/// Adagrad's lr_decay and initial_accumulator_value, and ASGD's eta and mu kept as torch keeps them (updated after each
/// step) across its t0 switch from copying the iterate to averaging it.
module S3gd.Properties.Spec.AdagradAdadeltaAsgdTests

open System
open Xunit
open S3gd.Spec.Rules
open S3gd.Properties.Spec.Generators

/// The parameter the runs start from: positive, negative, zero and large elements.
let private p0 = [| 1.0; -1.0; 0.0; 3.0; 0.25 |]

/// The gradient of step t (1-based): different every step, with an exact zero and a sign change.
let private grad (t: int) = [| 0.5 * float t; -2.0 / float t; 0.0; 1e-3 * float (t % 3); sin (float t) |]

/// Steps taken in each run: past ASGD's switch to averaging with t0 = 2.5 (step 5) and t0 = 3 (step 6).
let private steps = 8

/// A float array as a spec vector.
let private vec (xs: float[]) = Vectors.ofList (List.ofArray xs)

/// Runs a spec rule's typed step from p0 over the gradients, checking each step's parameter against the hand loop's
/// (the update relative to the learning rate to 1e-12: the loops regroup torch's arithmetic, which moves a few ulps; the
/// parameter to 1e-13); `hand t p` steps the hand loop's own state in place and returns the parameter after step t;
/// `check t s` compares the spec's state after step t with the hand loop's.
let private runAgainst what (lr: float) (specStep: 's -> Vec -> Vec -> Vec * 's) (s0: 's) (hand: int -> float[] -> float[]) (check: int -> 's -> unit) =
    let mutable ps = vec p0
    let mutable s = s0
    let mutable ph = Array.copy p0
    for t in 1 .. steps do
        let before = Array.copy ph
        let p', s' = specStep s (vec (grad t)) ps
        ph <- hand t (Array.copy ph)
        let delta (p: float[]) = Vectors.ofList [ for i in 0 .. p.Length - 1 -> (p[i] - before[i]) / lr ]
        requireClose (sprintf "%s step %d update/lr" what t) 1e-12 (delta ph) (delta (p'.ToArray()))
        requireClose (sprintf "%s step %d param" what t) 1e-13 (vec ph) p'
        check t s'
        ps <- p'
        s <- s'

/// The gradient of step t after maximize and coupled weight decay, as torch prepares it.
let private prepared (maximize: bool) (wd: float) (t: int) (p: float[]) (i: int) =
    (if maximize then -(grad t)[i] else (grad t)[i]) + wd * p[i]

// ---- Adagrad ----

/// torch's _single_tensor_adagrad on one element at a time: clr = lr/(1 + (t-1)*lr_decay); sum += g*g;
/// p -= clr*g/(sqrt(sum) + eps).
let private adagradHand (h: Adagrad.Hyper) (sum: float[]) (t: int) (p: float[]) =
    let clr = h.Lr / (1.0 + float (t - 1) * h.LrDecay)
    for i in 0 .. p.Length - 1 do
        let g = prepared h.Maximize h.WeightDecay t p i
        sum[i] <- sum[i] + g * g
        p[i] <- p[i] - clr * g / (Math.Sqrt sum[i] + h.Eps)
    p

let private adagradAgrees (h: Adagrad.Hyper) =
    // torch.full_like(p, initial_accumulator_value)
    let sum = Array.create p0.Length h.InitialAccumulatorValue
    let check t (s: Adagrad.State) =
        requireClose (sprintf "sum after step %d" t) 1e-13 (vec sum) s.Sum
        Assert.Equal(t, s.Step)
    runAgainst "adagrad" h.Lr (Adagrad.step h) (Adagrad.init h p0.Length) (adagradHand h sum) check

[<Fact>]
let ``Adagrad follows torch's formulas with the defaults`` () = adagradAgrees Adagrad.defaults

[<Fact>]
let ``Adagrad follows torch's formulas with lr_decay, an initial accumulator, maximize and weight decay`` () =
    adagradAgrees
        { Adagrad.defaults with Lr = 0.05; LrDecay = 0.1; InitialAccumulatorValue = 0.3; Eps = 1e-8; WeightDecay = 0.05; Maximize = true }

[<Fact>]
let ``Adagrad's sum starts at initial_accumulator_value`` () =
    let h = { Adagrad.defaults with InitialAccumulatorValue = 0.25 }
    let s = Adagrad.init h 3
    Assert.Equal<float>([| 0.25; 0.25; 0.25 |], s.Sum.ToArray())
    // Where the first gradient is zero the sum keeps that value and the parameter stays.
    let p1, s1 = Adagrad.step h s (vec [| 0.0; 1.0; 0.0 |]) (vec [| 2.0; 2.0; -2.0 |])
    Assert.Equal<float>([| 0.25; 1.25; 0.25 |], s1.Sum.ToArray())
    Assert.Equal(2.0, p1[0])
    Assert.Equal(-2.0, p1[2])

[<Fact>]
let ``Adagrad's learning rate decays as lr over 1 + (t-1)*lr_decay`` () =
    Assert.Equal(0.1, Adagrad.clr 0.1 0.5 1)
    Assert.Equal(0.1 / 1.5, Adagrad.clr 0.1 0.5 2)
    Assert.Equal(0.1 / 4.5, Adagrad.clr 0.1 0.5 8)

// ---- Adadelta ----

/// torch's _single_tensor_adadelta on one element at a time: square_avg = rho*sq + (1-rho)*g*g;
/// delta = sqrt(acc + eps)/sqrt(sq + eps)*g; acc = rho*acc + (1-rho)*delta*delta; p -= lr*delta.
let private adadeltaHand (h: Adadelta.Hyper) (sq: float[]) (acc: float[]) (t: int) (p: float[]) =
    for i in 0 .. p.Length - 1 do
        let g = prepared h.Maximize h.WeightDecay t p i
        sq[i] <- h.Rho * sq[i] + (1.0 - h.Rho) * g * g
        let delta = Math.Sqrt(acc[i] + h.Eps) / Math.Sqrt(sq[i] + h.Eps) * g
        acc[i] <- h.Rho * acc[i] + (1.0 - h.Rho) * delta * delta
        p[i] <- p[i] - h.Lr * delta
    p

let private adadeltaAgrees (h: Adadelta.Hyper) =
    let sq = Array.zeroCreate p0.Length
    let acc = Array.zeroCreate p0.Length
    let check t (s: Adadelta.State) =
        requireClose (sprintf "square_avg after step %d" t) 1e-13 (vec sq) s.SquareAvg
        requireClose (sprintf "acc_delta after step %d" t) 1e-13 (vec acc) s.AccDelta
        Assert.Equal(t, s.Step)
    runAgainst "adadelta" h.Lr (Adadelta.step h) (Adadelta.init p0.Length) (adadeltaHand h sq acc) check

[<Fact>]
let ``Adadelta follows torch's formulas with the defaults`` () = adadeltaAgrees Adadelta.defaults

[<Fact>]
let ``Adadelta follows torch's formulas with maximize and weight decay`` () =
    adadeltaAgrees { Adadelta.defaults with Lr = 0.5; Rho = 0.8; Eps = 1e-5; WeightDecay = 0.1; Maximize = true }

// ---- ASGD ----

/// torch's _single_tensor_asgd on one element at a time, with eta and mu kept as torch keeps them (created as lr and 1,
/// replaced after each step by lr/(1 + lambd*lr*t)^alpha and 1/max(1, t - t0)): p *= 1 - lambd*eta; p -= eta*g;
/// ax = p while mu = 1, else ax += (p - ax)*mu. Records each step's mu in `mus`.
let private asgdHand (h: Asgd.Hyper) (ax: float[]) (eta: float ref) (mu: float ref) (mus: ResizeArray<float>) (t: int) (p: float[]) =
    mus.Add mu.Value
    for i in 0 .. p.Length - 1 do
        let g = prepared h.Maximize h.WeightDecay t p i
        p[i] <- p[i] * (1.0 - h.Lambd * eta.Value)
        p[i] <- p[i] - eta.Value * g
        ax[i] <- if mu.Value <> 1.0 then ax[i] + (p[i] - ax[i]) * mu.Value else p[i]
    eta.Value <- h.Lr / Math.Pow(1.0 + h.Lambd * h.Lr * float t, h.Alpha)
    mu.Value <- 1.0 / Math.Max(1.0, float t - h.T0)
    p

/// Runs ASGD against the hand loop; returns the mu each step took (torch's mu before the step).
let private asgdAgrees (h: Asgd.Hyper) =
    let ax = Array.zeroCreate p0.Length
    let eta, mu = ref h.Lr, ref 1.0
    let mus = ResizeArray()
    let check t (s: Asgd.State) =
        requireClose (sprintf "ax after step %d" t) 1e-13 (vec ax) s.Ax
        Assert.Equal(t, s.Step)
        // torch's eta and mu after step t: the spec's functions of the step number.
        Assert.Equal(eta.Value, Asgd.eta h.Lr h.Lambd h.Alpha t, 15)
        Assert.Equal(mu.Value, Asgd.mu h.T0 t)
    runAgainst "asgd" h.Lr (Asgd.step h) (Asgd.init p0.Length) (asgdHand h ax eta mu mus) check
    List.ofSeq mus

[<Fact>]
let ``ASGD follows torch's formulas with the defaults (copying the iterate throughout)`` () =
    let mus = asgdAgrees Asgd.defaults
    Assert.All(mus, fun m -> Assert.Equal(1.0, m))

[<Fact>]
let ``ASGD follows torch's formulas across t0: copying on steps 1 to 5, averaging from step 6`` () =
    let mus = asgdAgrees { Asgd.defaults with Lr = 0.05; Lambd = 0.1; Alpha = 0.6; T0 = 3.0; WeightDecay = 0.05; Maximize = true }
    // mu after step k is 1/max(1, k - 3): 1 through step 4, 1/2 after step 5; step k+1 takes it.
    Assert.Equal<float list>([ 1.0; 1.0; 1.0; 1.0; 1.0; 0.5; 1.0 / 3.0; 0.25 ], mus)

[<Fact>]
let ``ASGD with a fractional t0 averages from the step after k - t0 passes 1`` () =
    let mus = asgdAgrees { Asgd.defaults with Lr = 0.02; T0 = 2.5 }
    Assert.Equal<float list>([ 1.0; 1.0; 1.0; 1.0; 1.0 / 1.5; 1.0 / 2.5; 1.0 / 3.5; 1.0 / 4.5 ], mus)

[<Fact>]
let ``ASGD copies the iterate into ax while mu is 1 and averages after`` () =
    let h = { Asgd.defaults with T0 = 0.0 }
    let g = vec [| 1.0; -1.0 |]
    let p1, s1 = Asgd.step h (Asgd.init 2) g (vec [| 1.0; 2.0 |])
    Assert.Equal<float>(p1.ToArray(), s1.Ax.ToArray())
    let p2, s2 = Asgd.step h s1 g p1
    Assert.Equal<float>(p2.ToArray(), s2.Ax.ToArray())
    // After step 2, mu = 1/2: step 3 averages ax halfway towards p.
    let p3, s3 = Asgd.step h s2 g p2
    Assert.Equal<float>([| for i in 0..1 -> s2.Ax[i] + (p3[i] - s2.Ax[i]) * 0.5 |], s3.Ax.ToArray())
    Assert.NotEqual<float>(p3.ToArray(), s3.Ax.ToArray())
