/// Rprop's fused step on the CPU backend where its float32 maths and the float64 spec part: a product g*prev that
/// underflows to zero (the kernel sees no sign where the spec sees a flip or a steady sign), which the conformance bound
/// must widen to either sign, and NaN, which both keep as torch does.
module S3gd.Properties.Elementwise.RpropBackendTests

open System
open Xunit
open MathNet.Numerics.LinearAlgebra
open S3gd.Spec.Formats
open S3gd.Spec.Rules
open S3gd.Gpu
open S3gd.Gpu.Cpu
open S3gd.Gpu.Elementwise
open S3gd.Conformance
open S3gd.Conformance.MathBound

let private info = match Registry.find "rprop" with Ok r -> r | Error e -> failwith e

/// Default Rprop, float32 throughout.
let private config = ElementwiseConfig(info, Map.empty, Fp32, Fp32, Fp32, [| StateFormat.Fp32 |])

/// A pattern repeated over 35 elements: the CPU backend's sixteen- or eight-lane vectors and its one-value tail.
let private tiled (pattern: float32[]) = Array.init 35 (fun i -> pattern[i % pattern.Length])

/// float32 values as a spec vector.
let private f64 (xs: float32[]) = Vector<float>.Build.DenseOfArray(Array.map float xs)

/// Step 2 (from the state given, not from lr) on the CPU backend: p, prev and step_size after it.
let private stepCpu (p: float32[]) (g: float32[]) (prev: float32[]) (size: float32[]) =
    use cpu = new CpuBackend()
    let struct (states, scales) = cpu.AllocateElementwiseState(config, int64 p.Length)
    let tensor = ElementwiseTensor(Transfer.uploadFloats cpu p, Transfer.uploadFloats cpu g, states, scales)
    try
        ElementwiseChecks.overwrite cpu Fp32 states[0] prev
        ElementwiseChecks.overwrite cpu Fp32 states[1] size
        cpu.StepElementwise(config, StepScalars.For(config, 2), [ tensor ])
        cpu.Download<float32> tensor.Param, cpu.Download<float32> states[0], cpu.Download<float32> states[1]
    finally
        tensor.Buffers |> Seq.iter (fun b -> b.Dispose())

/// The spec's step 2 from the same float32 inputs: p, prev and step_size after it.
let private stepSpec (p: float32[]) (g: float32[]) (prev: float32[]) (size: float32[]) =
    let rule = match Hyper.resolve info.Hypers Map.empty |> Result.bind info.Create with Ok r -> r | Error e -> failwith e
    let state = { Step = 1; Buffers = Map [ "prev", f64 prev; "step_size", f64 size ] }
    let p', s' = rule.Step state (f64 g) { Name = "p"; Shape = [ p.Length ]; Value = f64 p }
    p', Buffers.get s' "prev", Buffers.get s' "step_size"

[<Fact>]
let ``a product g*prev that underflows in float32 takes either sign within the bound, a certain sign a tight bound`` () =
    // By element: an underflowing flip (the spec shrinks the step and skips the move, float32 sees no sign and moves), an
    // underflowing steady sign (the spec grows the step), a certain flip, an exact zero product, a certain steady sign.
    let g = tiled [| 1e-30f; 1e-30f; 3.0f; -1e-30f; 0.5f |]
    let prev = tiled [| -1e-20f; 1e-20f; -2.0f; 0.0f; 0.25f |]
    let p = Array.create g.Length 1.0f
    let size = Array.create g.Length 0.01f
    let pGot, prevGot, sizeGot = stepCpu p g prev size
    let pWant, prevWant, sizeWant = stepSpec p g prev size
    let bound = MathBound.step config (StepScalars.For(config, 2))
    let paramFormat = StateFormat(Fp32, false)
    for i in 0 .. g.Length - 1 do
        let y = bound { P = exact (float p[i]); G = exact (float g[i]); S0 = exact (float prev[i]); S1 = exact (float size[i]); S2 = exact 0.0 }
        for what, got, want, e in [ "param", pGot[i], pWant[i], y.P.E; "prev", prevGot[i], prevWant[i], y.S0.E; "step_size", sizeGot[i], sizeWant[i], y.S1.E ] do
            let allowed = ElementwiseChecks.allowed paramFormat 1.0 want e
            Assert.True(abs (float got - want) <= allowed, sprintf "element %d %s: got %.9g, spec %.9g, allowed %.3g" i what got want allowed)
        if i % 5 < 2 then
            Assert.True(float sizeGot[i] <> sizeWant[i], sprintf "element %d: float32 and the spec take the same factor" i)
        else
            Assert.True(y.P.E < 1e-6 && y.S1.E < 1e-6, sprintf "element %d: a certain sign with a bound of %g, %g" i y.P.E y.S1.E)

[<Fact>]
let ``NaN is kept as torch keeps it: a NaN sign makes the step size and the parameter NaN and keeps the gradient as prev`` () =
    // NaN*1, inf*0 and 1*NaN: each a NaN product.
    let g = tiled [| nanf; infinityf; 1.0f |]
    let prev = tiled [| 1.0f; 0.0f; nanf |]
    let p = Array.create g.Length 1.0f
    let size = Array.create g.Length 0.1f
    let pGot, prevGot, sizeGot = stepCpu p g prev size
    let pWant, prevWant, sizeWant = stepSpec p g prev size
    let same (a: float32) (b: float) = (Single.IsNaN a && Double.IsNaN b) || float a = b
    for i in 0 .. g.Length - 1 do
        Assert.True(Single.IsNaN pGot[i] && Single.IsNaN sizeGot[i], sprintf "element %d: p %g, step_size %g" i pGot[i] sizeGot[i])
        for what, got, want in [ "param", pGot[i], pWant[i]; "prev", prevGot[i], prevWant[i]; "step_size", sizeGot[i], sizeWant[i] ] do
            Assert.True(same got want, sprintf "element %d %s: got %g, spec %g" i what got want)
    Assert.Equal<float32>([| infinityf; 1.0f |], [| prevGot[1]; prevGot[2] |])
