/// Elementwise operations the rules share, in the operation order of the references' kernels.
module S3gd.Spec.Rules.Elementwise

open System
open MathNet.Numerics.LinearAlgebra

/// torch.lerp on one element (ATen's Lerp.h): start + w*(end-start) for |w| < 0.5, else end - (end-start)*(1-w).
let lerp1 (start: float) (stop: float) (w: float) =
    // 0.5: ATen switches formula at |weight| = 0.5 so both ends are exact.
    if abs w < 0.5 then start + w * (stop - start) else stop - (stop - start) * (1.0 - w)

/// torch's `start.lerp_(stop, w)` elementwise, as a new vector.
let lerp (start: Vec) (stop: Vec) (w: float) : Vec = start.Map2((fun a b -> lerp1 a b w), stop, Zeros.Include)

/// torch.sign on one element: -1, 0 or +1; a zero keeps its sign bit and NaN stays NaN.
let sign1 (x: float) = if x > 0.0 then 1.0 elif x < 0.0 then -1.0 else x

/// torch.sign elementwise (sign(0) = 0).
let sign (v: Vec) : Vec = v.Map(Func<float, float> sign1, Zeros.Include)

/// Square root elementwise.
let sqrt (v: Vec) : Vec = v.Map(Func<float, float> Math.Sqrt, Zeros.Include)

/// x*x elementwise.
let square (v: Vec) : Vec = v.PointwiseMultiply v

/// torch's `self.addcmul(a, b, value)` = self + (value*a)*b, as ATen's kernels order it.
let addcmul (self: Vec) (value: float) (a: Vec) (b: Vec) : Vec = self + (value * a).PointwiseMultiply b

/// torch's `self.addcdiv(a, b, value)` = self + (value*a)/b, as ATen's CPU kernel orders it.
let addcdiv (self: Vec) (value: float) (a: Vec) (b: Vec) : Vec = self + (value * a).PointwiseDivide b

/// Division by a scalar elementwise, x/d (true division as torch's CPU kernel does it, not a reciprocal product).
let div (v: Vec) (d: float) : Vec = v.Map((fun x -> x / d), Zeros.Include)

/// Elementwise maximum (torch.maximum).
let maximum (a: Vec) (b: Vec) : Vec = a.Map2((fun x y -> Math.Max(x, y)), b, Zeros.Include)

/// Decoupled weight decay as torch.optim.AdamW and Lion write it: p <- p*(1 - lr*wd).
let decoupledDecay (lr: float) (wd: float) (p: Vec) : Vec = if wd <> 0.0 then p * (1.0 - lr * wd) else p

/// A zero vector of length n (state buffers start at zero, as torch.zeros_like).
let zeros (n: int) : Vec = Vector<float>.Build.Dense n
