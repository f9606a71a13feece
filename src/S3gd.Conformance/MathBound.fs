/// The float32-maths error bound of the elementwise kernel, stated in code: each kernel operation evaluated on
/// (value, error bound) pairs by first-order forward error analysis. An operation in maths of unit roundoff u
/// returns its exact result on the inputs' values, whose error is what the inputs' errors propagate plus u times
/// its magnitude plus half the smallest subnormal (underflow). The bound is what the backend's float32 (or bf16)
/// result may differ from the exact result on the same decoded inputs, before it is stored.
module S3gd.Conformance.MathBound

open System
open S3gd.Gpu.Elementwise

/// A value computed in reduced precision with a bound on its distance from the exact value.
[<Struct>]
type Bounded =
    { /// The value (as the reduced-precision maths computes it, to first order).
      V: float
      /// A bound on |computed - exact|.
      E: float }

/// The precision an operation rounds to.
type Maths =
    { /// Unit roundoff: half the distance from 1 to the next value.
      U: float
      /// Half the smallest positive subnormal: the absolute error floor of a rounding.
      Tiny: float }

/// float32: unit roundoff 2^-24, smallest subnormal 2^-149.
let float32Maths = { U = Math.Pow(2.0, -24.0); Tiny = Math.Pow(2.0, -150.0) }

/// bf16: unit roundoff 2^-8, smallest subnormal 2^-133.
let bf16Maths = { U = Math.Pow(2.0, -8.0); Tiny = Math.Pow(2.0, -134.0) }

/// An exactly known value.
let exact (v: float) = { V = v; E = 0.0 }

/// One rounding of a result (an exact zero stays exact).
let round (m: Maths) (x: Bounded) =
    if x.V = 0.0 && x.E = 0.0 then x else { x with E = x.E + m.U * abs x.V + m.Tiny }

/// a*b, rounded.
let mul m (a: Bounded) (b: Bounded) = round m { V = a.V * b.V; E = abs a.V * b.E + abs b.V * a.E + a.E * b.E }

/// a+b, rounded.
let add m (a: Bounded) (b: Bounded) = round m { V = a.V + b.V; E = a.E + b.E }

/// -a (exact).
let neg (a: Bounded) = { a with V = -a.V }

/// a/b, rounded, for a divisor known to be at least `floor` in magnitude (0 if nothing is known); unbounded when
/// b's interval reaches below the floor to zero.
let divAtLeast m (floor: float) (a: Bounded) (b: Bounded) =
    let q = a.V / b.V
    let lowest = max (abs b.V - b.E) floor
    if lowest <= 0.0 then { V = q; E = Double.PositiveInfinity }
    else round m { V = q; E = (a.E + abs q * b.E) / lowest }

/// a/b, rounded.
let div m (a: Bounded) (b: Bounded) = divAtLeast m 0.0 a b

/// sqrt(a), rounded: the width of sqrt over a's interval.
let sqrt m (a: Bounded) =
    let r = Math.Sqrt(max a.V 0.0)
    round m { V = r; E = max (Math.Sqrt(max (a.V + a.E) 0.0) - r) (r - Math.Sqrt(max (a.V - a.E) 0.0)) }

/// a*b + c as the kernel's madd: one rounding (fmaf) in float32, product and sum rounded in bf16.
let madd (m: Maths) (a: Bounded) (b: Bounded) (c: Bounded) =
    if m.U = float32Maths.U then round m { V = a.V * b.V + c.V; E = abs a.V * b.E + abs b.V * a.E + a.E * b.E + c.E }
    else add m (mul m a b) c

/// max(a, b) (exact).
let maximum (a: Bounded) (b: Bounded) = { V = max a.V b.V; E = max a.E b.E }

/// torch.sign (exact where the sign is certain; otherwise its whole range, 2).
let sign (a: Bounded) =
    let s = float (Math.Sign a.V)
    if abs a.V > a.E || a.E = 0.0 then exact s else { V = s; E = 2.0 }

/// Whether a sign was uncertain (the element's step may differ in sign from the spec's: compared elsewhere).
let uncertainSign (s: Bounded) = s.E > 0.0

/// A per-step scalar as the kernel gets it: rounded once (float32, or bf16 with bf16 maths) from its float64 value.
let scalar (m: Maths) (v: float32) = round m (exact (float v))

/// A lower bound of a denominator root + eps (Adam, RMSprop, LaProp, AdEMAMix) with the root >= 0: eps less its rounding.
let epsFloor (m: Maths) (sc: StepScalars) = float sc.Eps * (1.0 - 2.0 * m.U)

/// One element's inputs and outputs: param, grad and the three state slots.
type Element = { P: Bounded; G: Bounded; S0: Bounded; S1: Bounded; S2: Bounded }

/// step_element of elementwise.cu on bounded values; also whether a sign the step used was uncertain.
let step (c: ElementwiseConfig) (sc: StepScalars) (x: Element) : Element * bool =
    let m = if c.MathBf16 then bf16Maths else float32Maths
    let k = scalar m
    let g = if c.GradScale then div m x.G (k sc.GradScale) else x.G
    let g = if c.Maximize then neg g else g
    let g = if c.WeightDecayCoupled then madd m (k sc.Wd) x.P g else g
    let p = if c.WeightDecayDecoupled then mul m x.P (k sc.Decay) else x.P
    let lr = neg (k sc.Lr)
    match c.Rule with
    | ElementwiseRule.Sgd ->
        let s0 = if not c.Momentum then x.S0 elif sc.FirstStep <> 0 then g else madd m (k sc.Beta1) x.S0 (mul m (k sc.OneMinusBeta1) g)
        let d = if not c.Momentum then g elif c.Nesterov then madd m (k sc.Beta1) s0 g else s0
        { x with P = madd m lr d p; S0 = s0 }, false
    | ElementwiseRule.Adam ->
        let s0 = madd m (k sc.Beta1) x.S0 (mul m (k sc.OneMinusBeta1) g)
        let s1 = madd m (k sc.Beta2) x.S1 (mul m (k sc.OneMinusBeta2) (mul m g g))
        let s2 = if c.Amsgrad then maximum x.S2 s1 else x.S2
        let v = if c.Amsgrad then s2 else s1
        let denom = madd m (sqrt m v) (k sc.InvSqrtBc2) (k sc.Eps)
        { x with P = madd m (neg (k sc.StepSize)) (divAtLeast m (epsFloor m sc) s0 denom) p; S0 = s0; S1 = s1; S2 = s2 }, false
    | ElementwiseRule.RmsProp ->
        let s0 = madd m (k sc.Beta1) x.S0 (mul m (k sc.OneMinusBeta1) (mul m g g))
        let s2 = if c.Centered then madd m (k sc.Beta1) x.S2 (mul m (k sc.OneMinusBeta1) g) else x.S2
        let avg = add m (sqrt m (if c.Centered then madd m (neg s2) s2 s0 else s0)) (k sc.Eps)
        let ratio = divAtLeast m (epsFloor m sc) g avg
        if c.Momentum then
            let s1 = madd m (k sc.Beta2) x.S1 ratio
            { x with P = madd m lr s1 p; S0 = s0; S1 = s1; S2 = s2 }, false
        else { x with P = madd m lr ratio p; S0 = s0; S2 = s2 }, false
    | ElementwiseRule.S3gd ->
        let s0 = madd m (k sc.Beta1) x.S0 (mul m (k sc.OneMinusBeta1) (sign g))
        { x with P = madd m lr s0 p; S0 = s0 }, false
    | ElementwiseRule.Lion ->
        let u = sign (madd m (k sc.Beta1) x.S0 (mul m (k sc.OneMinusBeta1) g))
        let s0 = madd m (k sc.Beta2) x.S0 (mul m (k sc.OneMinusBeta2) g)
        { x with P = madd m lr u p; S0 = s0 }, uncertainSign u
    | ElementwiseRule.Signum ->
        let s0 = madd m (k sc.Beta1) x.S0 (mul m (k sc.OneMinusBeta1) g)
        let u = if c.Nesterov then sign (madd m (k sc.NesterovM) s0 (mul m (k sc.NesterovG) g)) else sign s0
        { x with P = madd m lr u p; S0 = s0 }, uncertainSign u
    | ElementwiseRule.LaProp ->
        let s1 = madd m (k sc.Beta2) x.S1 (mul m (k sc.OneMinusBeta2) (mul m g g))
        let denom = madd m (sqrt m s1) (k sc.InvSqrtBc2) (k sc.Eps)
        let s0 = madd m (k sc.Beta1) x.S0 (mul m (k sc.OneMinusBeta1) (divAtLeast m (epsFloor m sc) g denom))
        { x with P = madd m (neg (k sc.StepSize)) s0 p; S0 = s0; S1 = s1 }, false
    | ElementwiseRule.AdEMAMix ->
        let s0 = if c.FastIsGrad then x.S0 else madd m (k sc.Beta1) x.S0 (mul m (k sc.OneMinusBeta1) g)
        let fast = if c.FastIsGrad then g else s0
        let s1 = madd m (k sc.Beta3) x.S1 (mul m (k sc.OneMinusBeta3) g)
        let s2 = madd m (k sc.Beta2) x.S2 (mul m (k sc.OneMinusBeta2) (mul m g g))
        let denom = madd m (sqrt m s2) (k sc.InvSqrtBc2) (k sc.Eps)
        let u = divAtLeast m (epsFloor m sc) (madd m (k sc.Alpha) s1 (mul m fast (k sc.InvBc1))) denom
        { x with P = madd m lr u p; S0 = s0; S1 = s1; S2 = s2 }, false
    | ElementwiseRule.SimAdEMAMix ->
        let s0 = madd m (k sc.Beta1) x.S0 g
        let s1 = madd m (k sc.Beta2) x.S1 (mul m (k sc.OneMinusBeta2) (mul m g g))
        let denom = madd m (sqrt m s1) (k sc.InvSqrtBc2) (k sc.Eps)
        let u = divAtLeast m (epsFloor m sc) (madd m (k sc.Alpha) g (mul m s0 (k sc.InvBc1))) denom
        { x with P = madd m lr u p; S0 = s0; S1 = s1 }, false
    | ElementwiseRule.MAdam ->
        let s0 = madd m (k sc.Beta1) x.S0 (mul m (k sc.OneMinusBeta1) g)
        let cg = mul m g (k sc.Alpha)
        let s1 = madd m (k sc.Beta2) x.S1 (mul m (k sc.OneMinusBeta2) (mul m cg cg))
        // The step is 0 where the momentum is 0: exact when it is exactly 0, uncertain when its bound reaches 0.
        if s0.V = 0.0 && s0.E = 0.0 then { x with P = madd m lr (exact 0.0) p; S0 = s0; S1 = s1 }, false
        else
            let u = mul m (div m (mul m s0 (k sc.InvBc1)) (mul m (sqrt m s1) (k sc.InvSqrtBc2))) (k sc.Alpha)
            { x with P = madd m lr u p; S0 = s0; S1 = s1 }, abs s0.V <= s0.E
    | r -> invalidArg (nameof c) (sprintf "no bound for rule %A" r)
