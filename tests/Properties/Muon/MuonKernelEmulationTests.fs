/// muon.cu without a GPU: its kernels compiled by g++ with the PTX conversion emulated (KernelEmulation/shim.h,
/// muon_harness.cpp) and run over a group of matrices. The momentum buffer must equal the CPU backend's bit for bit; the
/// bf16 X must be bf16(bf16(u) / max(bf16(sqrt(squares)), bf16(eps))) with the kernel's own sum of squares, which must be
/// within float32 summation error of the exact one; the parameter must be p * decay - lr' x in float32, bit for bit.
/// OAdamW's kernels likewise: X = bf16(bf16(g) / bf16(bf16(sqrt(squares)) + eps)) and the output scale * X.
/// Skipped, and shown as skipped, where g++ is missing. The GPU itself is checked by `s3gd verify`.
module S3gd.Properties.Muon.MuonKernelEmulationTests

open System
open System.IO
open System.Runtime.InteropServices
open Xunit
open S3gd.Spec.Formats
open S3gd.Gpu
open S3gd.Gpu.Cpu
open S3gd.Gpu.Muon
open S3gd.Properties.KernelEmulation.KernelEmulationTests

let private here = __SOURCE_DIRECTORY__
let private emulation = Path.Combine(here, "..", "KernelEmulation")

let private bf (x: float32) = Bf16.decode32 (Bf16.encode32 x)

/// torch.lerp on float32, as the kernel and the CPU twin: 0.5 is where ATen switches formula.
let private lerp (s: float32) (e: float32) (w: float32) = if abs w < 0.5f then s + w * (e - s) else e - (e - s) * (1.0f - w)

let private bytes (xs: float32[]) = MemoryMarshal.AsBytes(xs.AsSpan()).ToArray()
let private floats (path: string) = MemoryMarshal.Cast<byte, float32>(ReadOnlySpan(File.ReadAllBytes path)).ToArray()

/// Groups: matrices, elements each, blocks per matrix (fewer than the elements need: the grid-stride loop runs), Nesterov.
let cases () : obj[] seq =
    [ 3, 300, 1, true; 2, 1, 1, false; 1, 5000, 3, true; 2, 777, 2, false ] |> Seq.map (fun (c, n, b, v) -> [| box c; box n; box b; box v |])

/// Writes a case, compiles muon.cu with the harness and the defines, runs `mode`; returns the folder (delete it after).
let private emulate (mode: string) (defines: string list) (count: int) (n: int) (blocks: int) (scalars: float32[]) (grads: float32[]) (bufs: float32[]) (ps: float32[]) =
    let dir = Directory.CreateTempSubdirectory("s3gd-muon-emulation-").FullName
    File.WriteAllBytes(Path.Combine(dir, "meta.bin"), [| int64 count; int64 n; int64 blocks |] |> Array.collect BitConverter.GetBytes)
    File.WriteAllBytes(Path.Combine(dir, "scalars.bin"), bytes scalars)
    for name, xs in [ "grads", grads; "bufs", bufs; "params", ps ] do
        File.WriteAllBytes(Path.Combine(dir, name + ".bin"), bytes xs)
    File.WriteAllText(Path.Combine(dir, "kernel.cpp"), rewrite (kernelSource "muon.cu"))
    for file in [ "shim.h"; "muon_harness.cpp" ] do
        File.Copy(Path.Combine(emulation, file), Path.Combine(dir, file))
    match exec "g++" ([ "-std=c++20"; "-O1"; "-pthread"; "-w" ] @ defines @ [ "muon_harness.cpp"; "-o"; "emulated" ]) dir with
    | Some(0, _) -> ()
    | Some(code, log) -> failwithf "g++ failed (%d): %s" code log
    | None -> failwith "g++ did not start"
    match exec (Path.Combine(dir, "emulated")) [ dir; mode ] dir with
    | Some(0, _) -> ()
    | other -> failwithf "the emulated kernels failed: %A" other
    dir

/// The kernel's bf16 X as codes.
let private codes (dir: string) = MemoryMarshal.Cast<byte, uint16>(ReadOnlySpan(File.ReadAllBytes(Path.Combine(dir, "x_out.bin")))).ToArray()

/// Any order of n float32 additions of non-negative terms is within (n - 1) 2^-24 of the exact sum, relative.
let private checkSquares (t: int) (n: int) (actual: float32) (u: float32[]) =
    let exact = u |> Array.sumBy (fun v -> float v * float v)
    if abs (float actual - exact) > float (n - 1) * 2.0 ** -24.0 * exact then
        failwithf "matrix %d: sum of squares %g, exact %g" t actual exact

[<GxxTheory; MemberData(nameof cases)>]
let ``muon.cu compiled for the host does torch's float32 momentum, normalisation and update`` (count: int, n: int, blocks: int, nesterov: bool) =
    let config = MuonConfig(Momentum = 0.9, Nesterov = nesterov, Lr = 0.02, WeightDecay = 0.1)
    let rnd = Random 5
    let values (scale: float) = Array.init (count * n) (fun _ -> float32 ((rnd.NextDouble() * 2.0 - 1.0) * scale))
    let grads, bufs, ps = values 3.0, values 1.0, values 0.5
    let toGrad, momentum, eps = float32 (1.0 - config.Momentum), float32 config.Momentum, float32 config.Eps
    let decay, adjusted = float32 (1.0 - config.Lr * config.WeightDecay), float32 (config.AdjustedLr(config.Lr, 1, n))
    let define = sprintf "-DNESTEROV=%d" (if nesterov then 1 else 0)
    let dir = emulate "muon" [ define ] count n blocks [| toGrad; momentum; eps; decay; adjusted; 1.0f |] grads bufs ps
    try
        let bufsOut, squares, psOut = floats (Path.Combine(dir, "bufs_out.bin")), floats (Path.Combine(dir, "squares_out.bin")), floats (Path.Combine(dir, "params_out.bin"))
        let x = codes dir
        // The CPU twin's momentum buffer, through the CPU backend's Muon plan (one row of n elements per matrix).
        use cpu = new CpuBackend()
        let twin =
            Array.init count (fun t ->
                let upload (xs: float32[]) =
                    let b = cpu.Allocate(ElementType.Float32, int64 n)
                    cpu.Upload<float32>(b, ReadOnlySpan(xs[t * n .. t * n + n - 1]))
                    b
                let tensor = MuonTensor(upload ps, upload grads, upload bufs, 1, n)
                (cpu.PlanMuon(config, [| tensor |])).Step()
                cpu.Download<float32> tensor.MomentumBuffer)
            |> Array.concat
        for i in 0 .. count * n - 1 do
            if BitConverter.SingleToUInt32Bits bufsOut[i] <> BitConverter.SingleToUInt32Bits twin[i] then
                failwithf "momentum_buffer[%d]: kernel %g, CPU twin %g" i bufsOut[i] twin[i]
        for t in 0 .. count - 1 do
            let u = Array.init n (fun i -> let k = t * n + i in bf (if nesterov then lerp grads[k] twin[k] momentum else twin[k]))
            checkSquares t n squares[t] u
            let denominator = max (bf (sqrt squares[t])) (bf eps)
            for i in 0 .. n - 1 do
                let k = t * n + i
                let expected = Bf16.encode32 (u[i] / denominator)
                if x[k] <> expected then failwithf "matrix %d x[%d]: kernel 0x%x, expected 0x%x" t i x[k] expected
                let p = ps[k] * decay - adjusted * Bf16.decode32 x[k]
                if BitConverter.SingleToUInt32Bits psOut[k] <> BitConverter.SingleToUInt32Bits p then
                    failwithf "matrix %d param[%d]: kernel %g, expected %g" t i psOut[k] p
    finally
        Directory.Delete(dir, true)

/// Groups for the projection: matrices, elements each, blocks per matrix.
let projectionCases () : obj[] seq = [ 2, 300, 1; 1, 4097, 2 ] |> Seq.map (fun (c, n, b) -> [| box c; box n; box b |])

[<GxxTheory; MemberData(nameof projectionCases)>]
let ``muon.cu's OAdamW kernels round the gradient to bf16, divide by the norm plus eps and scale in float32`` (count: int, n: int, blocks: int) =
    let rnd = Random 9
    let grads = Array.init (count * n) (fun _ -> float32 (rnd.NextDouble() * 2.0 - 1.0))
    let eps, scale = float32 OAdamWMatrixConfig.ProjectorEps, 1.5f
    let dir = emulate "projection" [ "-DADD_EPS=1" ] count n blocks [| 0.0f; 0.0f; eps; 0.0f; 0.0f; scale |] grads (Array.zeroCreate grads.Length) (Array.zeroCreate grads.Length)
    try
        let squares, outs, x = floats (Path.Combine(dir, "squares_out.bin")), floats (Path.Combine(dir, "params_out.bin")), codes dir
        for t in 0 .. count - 1 do
            let g = Array.init n (fun i -> bf grads[t * n + i])
            checkSquares t n squares[t] g
            let denominator = bf (bf (sqrt squares[t]) + eps)
            for i in 0 .. n - 1 do
                let k = t * n + i
                let expected = Bf16.encode32 (g[i] / denominator)
                if x[k] <> expected then failwithf "matrix %d x[%d]: kernel 0x%x, expected 0x%x" t i x[k] expected
                if BitConverter.SingleToUInt32Bits outs[k] <> BitConverter.SingleToUInt32Bits(scale * Bf16.decode32 x[k]) then
                    failwithf "matrix %d output[%d]: kernel %g, expected %g" t i outs[k] (scale * Bf16.decode32 x[k])
    finally
        Directory.Delete(dir, true)
