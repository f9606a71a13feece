/// The float32-maths error bound of the elementwise kernel, stated in code: each kernel operation evaluated on
/// (value, error bound) pairs by first-order forward error analysis. An operation in maths of unit roundoff u
/// returns its exact result on the inputs' values, whose error is what the inputs' errors propagate plus u times
/// its magnitude plus half the smallest subnormal (underflow). The bound is what the backend's float32 (or bf16)
/// result may differ from the exact result on the same decoded inputs, before it is stored.
module S3gd.Conformance.MathBound

open System
open S3gd.Gpu.Elementwise

/// A value computed in reduced precision with a bound on its distance from the exact value, and a number below both.
[<Struct>]
type Bounded =
    { /// The value (as the reduced-precision maths computes it, to first order).
      V: float
      /// A bound on |computed - exact|.
      E: float
      /// A lower bound of both the computed and the exact value (V - E unless an operation knows more: a square
      /// root is never negative, a sum of such with eps is at least about eps), so divisors can be bounded away from 0.
      Lo: float
      /// Whether one side may be NaN where the other is a number: a root of an argument that may be negative (centered
      /// RMSprop's square_avg - grad_avg^2 within rounding of zero), or a value computed from one. A NaN on one side
      /// only is then no disagreement; E bounds the difference where both are numbers.
      MayBeNaN: bool }

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

/// A value within <paramref name="e"/> of <paramref name="v"/>, nothing more known.
let bounded (v: float) (e: float) = { V = v; E = e; Lo = v - e; MayBeNaN = false }

/// An exactly known value.
let exact (v: float) = bounded v 0.0

/// One rounding of a result (an exact zero stays exact); rounding is monotone, so a lower bound stays one, less a rounding,
/// and a value known to be non-negative stays so (zero rounds to zero).
let round (m: Maths) (x: Bounded) =
    if x.V = 0.0 && x.E = 0.0 then x
    else
        let e = x.E + m.U * abs x.V + m.Tiny
        let rounded = x.Lo - m.U * abs x.Lo - m.Tiny
        { x with E = e; Lo = max (x.V - e) (if x.Lo >= 0.0 then max 0.0 rounded else rounded) }

/// The error of a*b from its factors' errors.
let private productError (a: Bounded) (b: Bounded) = abs a.V * b.E + abs b.V * a.E + a.E * b.E

/// A lower bound of a*b: the product of the lower bounds where both are non-negative.
let private productLo (a: Bounded) (b: Bounded) = if a.Lo >= 0.0 && b.Lo >= 0.0 then a.Lo * b.Lo else a.V * b.V - productError a b

/// a*b, rounded.
let mul m (a: Bounded) (b: Bounded) = round m { V = a.V * b.V; E = productError a b; Lo = productLo a b; MayBeNaN = a.MayBeNaN || b.MayBeNaN }

/// a+b, rounded.
let add m (a: Bounded) (b: Bounded) = round m { V = a.V + b.V; E = a.E + b.E; Lo = a.Lo + b.Lo; MayBeNaN = a.MayBeNaN || b.MayBeNaN }

/// -a (exact).
let neg (a: Bounded) = { bounded -a.V a.E with MayBeNaN = a.MayBeNaN }

/// a/b, rounded, for a divisor known to be at least `floor` in magnitude (0 if nothing is known; a positive lower bound
/// of b counts too); unbounded when b's interval reaches below the floor to zero.
let divAtLeast m (floor: float) (a: Bounded) (b: Bounded) =
    let q = a.V / b.V
    let lowest = max (abs b.V - b.E) (max floor b.Lo)
    let nan = a.MayBeNaN || b.MayBeNaN
    if lowest <= 0.0 then { bounded q Double.PositiveInfinity with MayBeNaN = nan }
    else round m { bounded q ((a.E + abs q * b.E) / lowest) with MayBeNaN = nan }

/// a/b, rounded.
let div m (a: Bounded) (b: Bounded) = divAtLeast m 0.0 a b

/// sqrt(a), rounded: the width of sqrt over a's interval; never negative. Where a may be negative (its lower bound is),
/// either side's root may be NaN while the other's is a number.
let sqrt m (a: Bounded) =
    let r = Math.Sqrt(max a.V 0.0)
    let e = max (Math.Sqrt(max (a.V + a.E) 0.0) - r) (r - Math.Sqrt(max (a.V - a.E) 0.0))
    round m { V = r; E = e; Lo = max (r - e) (Math.Sqrt(max a.Lo 0.0)); MayBeNaN = a.MayBeNaN || a.Lo < 0.0 }

/// a*b + c as the maths' Madd: one rounding (fma) in float32, product and sum rounded in bf16.
let madd (m: Maths) (a: Bounded) (b: Bounded) (c: Bounded) =
    if m.U = float32Maths.U then
        round m { V = a.V * b.V + c.V; E = productError a b + c.E; Lo = productLo a b + c.Lo; MayBeNaN = a.MayBeNaN || b.MayBeNaN || c.MayBeNaN }
    else add m (mul m a b) c

/// max(a, b) (exact).
let maximum (a: Bounded) (b: Bounded) = { V = max a.V b.V; E = max a.E b.E; Lo = max a.Lo b.Lo; MayBeNaN = a.MayBeNaN || b.MayBeNaN }

/// torch.sign (exact where the sign is certain; otherwise its whole range, 2).
let sign (a: Bounded) =
    let s = float (Math.Sign a.V)
    { (if abs a.V > a.E || a.E = 0.0 then exact s else bounded s 2.0) with MayBeNaN = a.MayBeNaN }

/// 0 where m is zero, else x: exact either way where m's zero-ness is certain; otherwise either 0 or x.
let zeroWhereZero (m: Bounded) (x: Bounded) =
    let y =
        if m.V = 0.0 && m.E = 0.0 then exact 0.0
        elif abs m.V > m.E then x
        else bounded x.V (abs x.V + x.E)
    { y with MayBeNaN = m.MayBeNaN || x.MayBeNaN }

/// x where a < b, else y (exact): the branch both sides take where the comparison is certain (a - b further from zero
/// than both errors together, or both exact); otherwise either branch (a sign within rounding of zero, Rprop's step
/// size within rounding of a clamp's bound), the branch of the values with an error reaching the other.
let whereLess (a: Bounded) (b: Bounded) (x: Bounded) (y: Bounded) =
    let d = a.V - b.V
    let taken, other = if d < 0.0 then x, y else y, x
    let either =
        if abs d > a.E + b.E || (a.E = 0.0 && b.E = 0.0) then taken
        else { taken with E = max taken.E (abs (other.V - taken.V) + other.E); Lo = min taken.Lo other.Lo; MayBeNaN = taken.MayBeNaN || other.MayBeNaN }
    { either with MayBeNaN = either.MayBeNaN || a.MayBeNaN || b.MayBeNaN }

/// A per-step scalar as the kernel gets it: rounded once (float32, or bf16 with bf16 maths) from its float64 value.
let scalar (m: Maths) (v: float32) = round m (exact (float v))

/// float32 maths on bounded values (<see cref="S3gd.Gpu.Maths.IMaths{T}"/>: every rule's maths is written against it, so a
/// rule's bound is its own maths evaluated on bounds).
[<Struct>]
type Float32Bounds =
    interface S3gd.Gpu.Maths.IMaths<Bounded> with
        member _.Mul(a, b) = mul float32Maths a b
        member _.Add(a, b) = add float32Maths a b
        member _.Div(a, b) = div float32Maths a b
        member _.Root a = sqrt float32Maths a
        member _.Madd(a, b, c) = madd float32Maths a b c
        member _.Neg a = neg a
        member _.Max(a, b) = maximum a b
        member _.Sign a = sign a
        member _.Load a = a
        member _.ZeroWhereZero(a, x) = zeroWhereZero a x
        member _.WhereLess(a, b, x, y) = whereLess a b x y
        member _.Broadcast x = scalar float32Maths x

/// bf16 maths on bounded values.
[<Struct>]
type Bf16Bounds =
    interface S3gd.Gpu.Maths.IMaths<Bounded> with
        member _.Mul(a, b) = mul bf16Maths a b
        member _.Add(a, b) = add bf16Maths a b
        member _.Div(a, b) = div bf16Maths a b
        member _.Root a = sqrt bf16Maths a
        member _.Madd(a, b, c) = madd bf16Maths a b c
        member _.Neg a = neg a
        member _.Max(a, b) = maximum a b
        member _.Sign a = sign a
        member _.Load a = a
        member _.ZeroWhereZero(a, x) = zeroWhereZero a x
        member _.WhereLess(a, b, x, y) = whereLess a b x y
        member _.Broadcast x = scalar bf16Maths x

/// One element's inputs and outputs: param, grad and the three state slots.
type Element = { P: Bounded; G: Bounded; S0: Bounded; S1: Bounded; S2: Bounded }

/// The step of one element on bounded values.
type private ElementStep = delegate of StepScalars * Element -> Element

/// The rule's own per-element maths (the code every backend runs) on bounded values, in the configuration's maths.
let private stepper (bf16: bool) =
    { new IElementwiseVisitor<ElementStep> with
        member _.Visit<'R, 'P when 'R : struct and 'R :> IElementwiseRule and 'R : (new: unit -> 'R) and 'R :> ValueType
                                and 'P : struct and 'P :> IGradientPrep and 'P : (new: unit -> 'P) and 'P :> ValueType>() =
            let run (sc: StepScalars) (x: Element) =
                let mutable p = x.P
                let mutable s0 = x.S0
                let mutable s1 = x.S1
                let mutable s2 = x.S2
                if bf16 then
                    let k = ElementwiseScalars<Bounded, Bf16Bounds>(&sc)
                    ElementwiseStep.Element<Bounded, Bf16Bounds, 'P, 'R>(&k, &p, x.G, &s0, &s1, &s2)
                else
                    let k = ElementwiseScalars<Bounded, Float32Bounds>(&sc)
                    ElementwiseStep.Element<Bounded, Float32Bounds, 'P, 'R>(&k, &p, x.G, &s0, &s1, &s2)
                { P = p; G = x.G; S0 = s0; S1 = s1; S2 = s2 }
            ElementStep(fun sc x -> run sc x) }

/// A configuration's per-element step on bounded values: its rule's own maths, each operation's result bounded.
let step (c: ElementwiseConfig) : StepScalars -> Element -> Element =
    let f = c.Accept(stepper c.MathBf16)
    fun sc x -> f.Invoke(sc, x)
