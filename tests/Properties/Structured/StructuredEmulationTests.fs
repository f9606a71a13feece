/// structured.cu against its CPU twin without a GPU: the kernel source compiled by g++ with its PTX conversions emulated
/// (KernelEmulation/shim.h, Emulation/structured_harness.cpp: shared memory, block barrier, warp shuffles and atomics on
/// std::threads), stepped three times with gradients of changing size over tensors around the segment size and Adam-mini blocks from 1 element to whole
/// tensors, must give the CPU twin's bytes exactly, sums included, and the same telemetry counters. Skipped, and shown
/// as skipped, where g++ is missing. The GPU itself is checked by `s3gd verify`.
module S3gd.Properties.Structured.StructuredEmulationTests

open System
open System.Diagnostics
open System.IO
open System.Runtime.InteropServices
open Xunit
open S3gd.Spec.Formats
open S3gd.Spec.Rules
open S3gd.Gpu.Cpu
open S3gd.Gpu.Structured
open S3gd.Properties.KernelEmulation.KernelEmulationTests

let private here = __SOURCE_DIRECTORY__
let private shimPath = Path.Combine(here, "..", "KernelEmulation", "shim.h")

/// Runs a program in a folder; its exit code and output, or None when it cannot start.
let private exec (file: string) (args: string list) (dir: string) =
    try
        let psi = ProcessStartInfo(file, args, WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true)
        use p = Process.Start psi
        let out = p.StandardOutput.ReadToEndAsync()
        let err = p.StandardError.ReadToEnd()
        p.WaitForExit()
        Some(p.ExitCode, out.Result + err)
    with :? ComponentModel.Win32Exception -> None

/// Segments of the large case: more than one batch of the finalize's loads per lane (BATCH 32 x 32 lanes), plus a tail.
let private largeSegments = 32 * 32 + 1

/// Tensors of a case: (length, block length, decays); StableAdamW ignores the block length. `large` is one tensor of
/// `largeSegments` segments and a few elements more.
let private tensorsOf (rule: string) (large: bool) =
    if large then [| largeSegments * StructuredLayout.Chunk + 5, largeSegments * StructuredLayout.Chunk + 5, true |]
    elif rule = "stableadamw" then [| 1, 1, true; 4097, 4097, true; 9000, 9000, false; 300, 300, true |]
    else [| 7, 1, true; 4096 * 2 + 10, 4106, false; 3000, 3000, true; 1536, 768, true; 40, 4, true |]

/// One case per rule and format mix, Kahan and telemetry switched on in some; one large group per rule; each launch
/// layout's runs in flight per lane (1, 2, 4: results must not depend on it; the streaming hints are PTX, left out here).
let cases () : obj[] seq =
    [ "stableadamw", [ "weight_decay", Real 0.1 ], Fp32, Fp32, Fp32, Fp32, true, false, 1
      "stableadamw", [], Fp32, Fp32, Fp32, Fp32, false, true, 2
      "adam-mini", [], Fp32, Fp32, Fp32, Fp32, false, true, 4
      "stableadamw", [ "weight_decay", Real 0.01; "decouple_lr", Flag true; "kahan_sum", Flag true ], Bf16, Bf16, Bf16, Fp32, false, false, 4
      "stableadamw", [ "weight_decay", Real 0.0 ], Bf16, Fp32, Fp32, Bf16, true, false, 2
      "adam-mini", [ "weight_decay", Real 0.1 ], Fp32, Bf16, Fp32, Fp32, true, false, 1
      "adam-mini", [], Bf16, Bf16, Bf16, Fp32, false, false, 2
      "adam-mini", [ "weight_decay", Real 0.1 ], Fp32, Fp32, Fp8E4M3, Fp32, true, false, 2
      "adam-mini", [], Bf16, Bf16, Fp8E4M3, Fp32, true, false, 1
      "adam-mini", [], Fp32, Bf16, Fp8E4M3, Fp32, false, false, 4 ]
    |> Seq.map (fun (r, h, p, g, m, v, telemetry, large, unroll) ->
        [| box r; box (Map.ofList h); box p; box g; box m; box v; box telemetry; box large; box unroll |])

let private codes (format: StorageFormat) (xs: float32[]) : byte[] =
    match format with
    | Fp32 -> MemoryMarshal.AsBytes(xs.AsSpan()).ToArray()
    | Bf16 -> xs |> Array.collect (fun x -> BitConverter.GetBytes(Bf16.encode32 x))
    // An fp8 moment starts at zero (its block words say so); the codes are overwritten by the first step.
    | _ -> Array.zeroCreate xs.Length

let private int64Bytes (xs: int64 seq) = xs |> Seq.collect BitConverter.GetBytes |> Array.ofSeq

[<GxxTheory; MemberData(nameof cases)>]
let ``structured.cu compiled for the host equals the CPU twin bit for bit``
    (ruleName: string, hypers: Hypers, param: StorageFormat, grad: StorageFormat, moment: StorageFormat, second: StorageFormat, telemetry: bool, large: bool,
     unroll: int) =
    let info = match Registry.find ruleName with Ok r -> r | Error e -> failwith e
    let config = StructuredConfig(info, hypers, param, grad, moment, second, telemetry)
    // The large case takes two steps: the second is the first whose clip can engage.
    let steps = if large then 2 else 3
    let specs = tensorsOf ruleName large
    let stable = config.Rule = StructuredRule.StableAdamW
    let fp8 = config.MomentIsFp8
    let dir = Directory.CreateTempSubdirectory("s3gd-structured-").FullName
    try
        let rnd = Random 11
        let values (n: int) (scale: float) (positive: bool) =
            Array.init n (fun i -> if i % 13 = 0 then 0.0f else float32 ((if positive then rnd.NextDouble() + 0.01 else rnd.NextDouble() * 2.0 - 1.0) * scale))
        let tensors =
            specs |> Array.map (fun (n, block, decays) ->
                let blockLength = if stable then n else block
                let vLength = if stable then n else n / block
                CpuStructuredTensor(
                    codes param (values n 1.0 false), codes grad (values n 4.0 false), codes moment (values n 0.5 false),
                    codes second (values vLength 0.5 true), int64 n, int64 blockLength, decays,
                    (if config.HasCompensation then codes Bf16 (values n 4e-3 false) else null),
                    (if fp8 then Array.zeroCreate (4 * int (MomentFallback.ScaleCount(int64 n, int64 blockLength))) else null),
                    (if fp8 then Array.zeroCreate (2 * int (MomentFallback.PoolCount(int64 n, int64 blockLength))) else null)))
        let slots (x: CpuStructuredTensor) = [| x.Param; x.Grad; x.Moment; x.SecondMoment; x.Compensation; x.MomentScales; x.MomentPool |]
        tensors |> Array.iteri (fun t x ->
            slots x |> Array.iteri (fun k b -> if not (isNull b) then File.WriteAllBytes(Path.Combine(dir, sprintf "in_%d_%d.bin" t k), b)))
        let layout = StructuredLayout(tensors |> Array.map (fun x -> x.Length), tensors |> Array.map (fun x -> x.BlockLength))
        File.WriteAllBytes(Path.Combine(dir, "meta.bin"), int64Bytes [ int64 tensors.Length; int64 layout.Segments; int64 layout.Groups; int64 layout.SplitSegments; int64 layout.SplitGroups ])
        File.WriteAllBytes(Path.Combine(dir, "tensors.bin"),
            int64Bytes [ for x in tensors do yield x.Length; yield x.BlockLength; yield (if x.Decays then 1L else 0L) ])
        File.WriteAllBytes(Path.Combine(dir, "layout.bin"),
            int64Bytes [ for s in 0 .. layout.Segments - 1 do
                             yield! [ int64 layout.SegmentTensor[s]; int64 layout.SegmentGroup[s]; layout.SegmentStart[s]; int64 layout.SegmentCount[s] ]
                         for q in 0 .. layout.Groups - 1 do
                             yield! [ int64 layout.GroupTensor[q]; layout.GroupLocal[q]; int64 layout.GroupFirstSegment[q]; int64 layout.GroupSegments[q] ] ])
        let counters = if telemetry then Array.zeroCreate<uint32> (StructuredTelemetry.Words * tensors.Length) else null
        for step in 1..steps do
            let sc = StructuredScalars.For(config, step)
            // Gradients change size from step to step (1/8, 1, 8 times), so the RMS of StableAdamW's update exceeds 1
            // and clips the learning rate.
            tensors |> Array.iteri (fun t x ->
                let raw = values (int x.Length) (Math.Pow(8.0, float (step - 2))) false
                if fp8 then
                    // Outliers (1e15: the other elements of their block flush to zero under its scale) take the slot
                    // or overflow; elements 256-383 are zero in the first step, a block of zeros.
                    raw |> Array.iteri (fun i _ -> if i % 1000 = 7 then raw[i] <- 1e15f elif step = 1 && i >= 256 && i < 384 then raw[i] <- 0.0f)
                let g = codes grad raw
                g.CopyTo(x.Grad, 0)
                File.WriteAllBytes(Path.Combine(dir, sprintf "grad%d_%d.bin" step t), g))
            let bytes = Array.zeroCreate<byte> (Marshal.SizeOf<StructuredScalars>())
            MemoryMarshal.Write(bytes.AsSpan(), &sc)
            File.WriteAllBytes(Path.Combine(dir, sprintf "scalars%d.bin" step), bytes)
            CpuStructured.Step(config, sc, layout, tensors, counters)
        File.WriteAllText(Path.Combine(dir, "kernel.cpp"), rewrite (kernelSource "structured.cu"))
        File.Copy(shimPath, Path.Combine(dir, "shim.h"))
        File.Copy(Path.Combine(here, "Emulation", "structured_harness.cpp"), Path.Combine(dir, "harness.cpp"))
        let defines = List.ofSeq (config.Defines()) @ List.ofSeq (StructuredLaunch(unroll, false).Defines())
        match exec "g++" ([ "-std=c++20"; "-O1"; "-pthread"; "-w" ] @ defines @ [ "harness.cpp"; "-o"; "emulated" ]) dir with
        | Some(0, _) -> ()
        | Some(code, log) -> failwithf "g++ failed (%d) with %s: %s" code (String.Join(" ", defines)) log
        | None -> failwith "g++ did not start"
        match exec (Path.Combine(dir, "emulated")) [ dir; string steps ] dir with
        | Some(0, _) -> ()
        | other -> failwithf "the emulated kernel failed: %A" other
        let formats = [| param; grad; moment; second; Bf16; Fp32; Bf16 |]
        tensors |> Array.iteri (fun t x ->
            slots x |> Array.iteri (fun k expected ->
                if not (isNull expected) then
                    let actual = File.ReadAllBytes(Path.Combine(dir, sprintf "out_%d_%d.bin" t k))
                    let f = formats[k]
                    let width = StorageFormat.size f
                    let code (b: byte[]) i = [ 0 .. width - 1 ] |> List.sumBy (fun j -> uint32 b[i * width + j] <<< (8 * j))
                    let same i = code expected i = code actual i || (Double.IsNaN(StorageFormat.decode f (code expected i)) && Double.IsNaN(StorageFormat.decode f (code actual i)))
                    match Seq.init (expected.Length / width) id |> Seq.tryFind (same >> not) with
                    | Some i -> failwithf "%O: tensor %d (n=%d) slot %d element %d: CPU 0x%x, kernel 0x%x" config t x.Length k i (code expected i) (code actual i)
                    | None -> ()))
        if telemetry then
            let kernel = MemoryMarshal.Cast<byte, uint32>(File.ReadAllBytes(Path.Combine(dir, "telemetry.bin")).AsSpan()).ToArray()
            Assert.Equal<uint32>(counters, kernel)
            Assert.True(counters |> Array.exists (fun c -> c <> 0u), "telemetry stayed zero")
            if fp8 then
                // The outliers and the zero block must have driven both fallback paths.
                let total k = Seq.init tensors.Length (fun t -> counters[StructuredTelemetry.Words * t + k]) |> Seq.sum
                Assert.True(total 2 > 0u && total 3 > 0u, sprintf "fallbacks %d, overflows %d: a path was not taken" (total 2) (total 3))
    finally
        Directory.Delete(dir, true)
