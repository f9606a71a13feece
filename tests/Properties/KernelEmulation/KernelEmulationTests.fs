/// The CUDA kernel source against its CPU twin without a GPU: elementwise.cu compiled by g++ with its PTX conversions
/// emulated (shim.h, harness.cpp), stepped over a list of tensors (lengths 1, odd, around the vector width, the scale
/// block and the chunk), must give the CPU twin's bytes exactly, for every rule with a kernel, in mixed formats and
/// every launch unroll, and for bf16 parameters under each update mode (Kahan, stochastic). Skipped, and shown as
/// skipped, where g++ is missing. The GPU itself is checked by `s3gd verify`.
module S3gd.Properties.KernelEmulation.KernelEmulationTests

open System
open System.Diagnostics
open System.IO
open System.Runtime.InteropServices
open System.Text.RegularExpressions
open Xunit
open S3gd.Spec.Formats
open S3gd.Spec.Rules
open S3gd.Gpu.Cpu
open S3gd.Gpu.Elementwise

/// Runs a program, returning its exit code and output (stdout and stderr); None when it cannot start.
let exec (file: string) (args: string list) (dir: string) =
    try
        let psi = ProcessStartInfo(file, args, WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true)
        use p = Process.Start psi
        let out = p.StandardOutput.ReadToEndAsync()
        let err = p.StandardError.ReadToEnd()
        p.WaitForExit()
        Some(p.ExitCode, out.Result + err)
    with :? ComponentModel.Win32Exception -> None

/// Why the kernel cannot be compiled for the host here, or None when g++ can.
let private gxxUnavailable =
    lazy
        (match exec "g++" [ "--version" ] (Path.GetTempPath()) with
         | Some(0, _) -> None
         | _ -> Some "g++ is not on the PATH")

/// A theory that runs only where g++ is available.
type GxxTheoryAttribute() as this =
    inherit TheoryAttribute()
    do gxxUnavailable.Force() |> Option.iter (fun reason -> this.Skip <- reason)

let private here = __SOURCE_DIRECTORY__
/// The folder of the kernel sources on disk.
let kernelsFolder = Path.Combine(here, "..", "..", "..", "src", "S3gd.Gpu", "Cuda", "Kernels")

/// The kernel file `name` as NVRTC gets it: its `#include "common.cuh"` expanded by the backend's own KernelSources.
let kernelSource (name: string) = S3gd.Gpu.Cuda.KernelSources.LoadFrom(kernelsFolder, name)

/// The emulation each PTX conversion becomes (shim.h).
let private emulations =
    Map [ "cvt.rn.bf16.f32", "emu_f2bf"; "cvt.f32.f16", "emu_h2f"; "cvt.rn.f16x2.e4m3x2", "emu_e4m3x2_h2"
          "cvt.rn.f16x2.e5m2x2", "emu_e5m2x2_h2"; "cvt.rn.satfinite.e4m3x2.f32", "emu_f2e4m3x2"; "cvt.rn.satfinite.e5m2x2.f32", "emu_f2e5m2x2" ]

/// The kernel source with each `asm("cvt...": "=x"(out) : "x"(a), ...)` replaced by `out = emu_...(a, ...)`; the
/// streaming loads and stores (asm volatile) are compiled out with STREAMING=0.
let rewrite (source: string) =
    let replaced =
        Regex.Replace(source, @"asm\(""([^""]+)""\s*:\s*""=\w""\((\w+)\)\s*:\s*([^;]*)\);", fun m ->
            let instruction = m.Groups[1].Value.Split(' ')[0]
            let operands = Regex.Matches(m.Groups[3].Value, @"""\w""\(([^)]*)\)") |> Seq.map (fun o -> o.Groups[1].Value)
            sprintf "%s = %s(%s);" m.Groups[2].Value emulations[instruction] (String.Join(", ", operands)))
    if replaced.Contains "asm(" then failwith "the kernel source has an inline PTX statement the emulation does not know"
    replaced

/// Tensor lengths: 1, odd, around the vector width (8), the scale block (128) and the chunk (4096 at unroll 2).
let private lengths = [| 1; 7; 4099; 641; 9000; 8; 130 |]

/// One case per rule with a kernel: hyperparameters that switch its options on, formats mixed across the cases.
let cases () : obj[] seq =
    [ "sgd", [ "momentum", Real 0.9; "nesterov", Flag true; "weight_decay", Real 0.01; "maximize", Flag true ], Fp32, Fp32, Fp32, "fp32", 1
      "adam", [ "amsgrad", Flag true; "weight_decay", Real 0.01 ], Fp32, Bf16, Fp32, "fp8e4m3", 2
      "adamw", [], Bf16, Bf16, Fp32, "bf16", 4
      "rmsprop", [ "momentum", Real 0.9; "centered", Flag true; "weight_decay", Real 0.01 ], Fp32, Fp32, Fp32, "fp8e5m2", 1
      "s3gd", [ "weight_decay", Real 0.1 ], Bf16, Bf16, Bf16, "fp8e4m3-unscaled", 2
      "lion", [ "weight_decay", Real 0.1 ], Fp32, Fp32, Bf16, "bf16", 4
      "signum", [ "nesterov", Flag true; "weight_decay", Real 0.1 ], Bf16, Fp32, Fp32, "fp8e4m3", 1
      "laprop", [ "weight_decay", Real 0.1 ], Fp32, Bf16, Fp32, "fp8e5m2", 2
      "ademamix", [ "num_beta_slow_warmup_steps", Whole 3; "num_alpha_warmup_steps", Whole 2 ], Bf16, Fp32, Fp32, "fp8e4m3", 4
      "sim-ademamix", [ "num_beta_fast_warmup_steps", Whole 3; "weight_decay", Real 0.1 ], Fp32, Fp32, Bf16, "fp32", 1
      "madam", [ "scale_log2", Whole 10 ], Fp32, Fp32, Fp32, "fp8e4m3", 2 ]
    |> Seq.map (fun (r, h, p, g, m, s, u) -> [| box r; box (Map.ofList h); box p; box g; box m; box s; box u; box ParamUpdate.Nearest |])
    |> Seq.append (
        // bf16 parameters with float32 maths under each other update mode.
        [ "adamw", [ "weight_decay", Real 0.1 ], Bf16, Fp32, "fp32", 2, ParamUpdate.Kahan
          "s3gd", [ "weight_decay", Real 0.1 ], Bf16, Bf16, "fp8e4m3-unscaled", 4, ParamUpdate.Kahan
          "sgd", [ "momentum", Real 0.9 ], Bf16, Fp32, "bf16", 1, ParamUpdate.Kahan
          "adamw", [ "weight_decay", Real 0.1 ], Bf16, Bf16, "bf16", 2, ParamUpdate.Stochastic
          "lion", [], Bf16, Fp32, "fp32", 4, ParamUpdate.Stochastic
          "sgd", [ "momentum", Real 0.9 ], Bf16, Fp32, "fp8e5m2", 1, ParamUpdate.Stochastic ]
        |> Seq.map (fun (r, h, p, g, s, u, mode) -> [| box r; box (Map.ofList h); box p; box g; box Fp32; box s; box u; box mode |]))

/// A tensor's buffers in the kernel table's slot order (SLOTS): param, grad, three states, three scales, compensation.
let private slots (x: CpuElementwiseTensor) =
    [| x.Param; x.Grad; x.States[0]; x.States[1]; x.States[2]; x.Scales[0]; x.Scales[1]; x.Scales[2]; x.Compensation |]

let private codes (format: StorageFormat) (xs: float32[]) : byte[] =
    match format with
    | Fp32 -> MemoryMarshal.AsBytes(xs.AsSpan()).ToArray()
    | Bf16 -> xs |> Array.collect (fun x -> BitConverter.GetBytes(Bf16.encode32 x))
    | _ -> xs |> Array.map (fun x -> byte (StorageFormat.encode format (float x)))

[<GxxTheory; MemberData(nameof cases)>]
let ``the kernel source compiled for the host equals the CPU twin bit for bit``
    (ruleName: string, hypers: Hypers, param: StorageFormat, grad: StorageFormat, math: StorageFormat, state: string, unroll: int, update: ParamUpdate) =
    let info = match Registry.find ruleName with Ok r -> r | Error e -> failwith e
    let config = ElementwiseConfig(info, hypers, param, grad, math, [| StateFormat.Parse state |], gradScale = true, paramUpdate = update)
    let steps = 3
    let dir = Directory.CreateTempSubdirectory("s3gd-emulation-").FullName
    try
        let rnd = Random 7
        let values (n: int) (scale: float) (positive: bool) =
            Array.init n (fun i -> if i % 13 = 0 then 0.0f else float32 ((if positive then rnd.NextDouble() + 0.01 else rnd.NextDouble() * 2.0 - 1.0) * scale))
        let slotNames = ElementwiseRules.SlotNames config.Rule
        let tensors =
            lengths
            |> Array.map (fun n ->
                let stateOf k =
                    match config.States[k] |> Option.ofNullable with
                    | None -> null
                    | Some f ->
                        // Second moments are non-negative; block-scaled codes carry values up to the format's range.
                        let positive = slotNames[k].Contains "sq" || slotNames[k].Contains "square"
                        let xs = values n (if f.BlockScaled then 300.0 else 0.5) positive
                        codes f.Format xs
                let scaleOf k =
                    match config.States[k] |> Option.ofNullable with
                    | Some f when f.BlockScaled ->
                        let s = Array.init (int (ElementwiseLayout.ScaleCount(int64 n))) (fun _ -> float32 (rnd.NextDouble() * 1e-3 + 1e-6))
                        MemoryMarshal.AsBytes(s.AsSpan()).ToArray()
                    | _ -> null
                // A compensation of the order of a bf16 ulp of the parameters (about 2^-8).
                let compensation = if config.HasCompensation then codes Bf16 (values n 4e-3 false) else null
                CpuElementwiseTensor(
                    codes param (values n 1.0 false), codes grad (values n 4.0 false), Array.init 3 stateOf, Array.init 3 scaleOf, n, compensation))
        let write (prefix: string) =
            tensors |> Array.iteri (fun t x ->
                slots x |> Array.iteri (fun k b -> if not (isNull b) then File.WriteAllBytes(Path.Combine(dir, sprintf "%s_%d_%d.bin" prefix t k), b)))
        write "in"
        File.WriteAllBytes(Path.Combine(dir, "lengths.bin"), lengths |> Array.collect (fun n -> BitConverter.GetBytes(int64 n)))
        for step in 1..steps do
            // Any seed: the stochastic cases draw from it.
            let sc = StepScalars.For(config, step, gradScale = 2.0, seed = 0xC0FFEEu)
            let bytes = Array.zeroCreate<byte> (Marshal.SizeOf<StepScalars>())
            MemoryMarshal.Write(bytes.AsSpan(), &sc)
            File.WriteAllBytes(Path.Combine(dir, sprintf "scalars%d.bin" step), bytes)
            CpuElementwise.Step(config, sc, tensors)
        File.WriteAllText(Path.Combine(dir, "kernel.cpp"), rewrite (kernelSource "elementwise.cu"))
        for file in [ "shim.h"; "harness.cpp" ] do
            File.Copy(Path.Combine(here, file), Path.Combine(dir, file))
        let defines = [ yield! config.Defines(); yield! ElementwiseLaunch(unroll, 0, false).Defines() ]
        match exec "g++" ([ "-std=c++20"; "-O1"; "-pthread"; "-w" ] @ defines @ [ "harness.cpp"; "-o"; "emulated" ]) dir with
        | Some(0, _) -> ()
        | Some(code, log) -> failwithf "g++ failed (%d) with %s: %s" code (String.Join(" ", defines)) log
        | None -> failwith "g++ did not start"
        match exec (Path.Combine(dir, "emulated")) [ dir; string steps ] dir with
        | Some(0, _) -> ()
        | other -> failwithf "the emulated kernel failed: %A" other
        // Slot formats: param, grad, the three states, their float32 scales, the bf16 compensation.
        let formats =
            [| param; grad
               yield! [ for k in 0..2 -> config.States[k] |> Option.ofNullable |> Option.map (fun f -> f.Format) |> Option.defaultValue Fp32 ]
               Fp32; Fp32; Fp32; Bf16 |]
        tensors |> Array.iteri (fun t x ->
            slots x
            |> Array.iteri (fun k expected ->
                if not (isNull expected) then
                    let actual = File.ReadAllBytes(Path.Combine(dir, sprintf "out_%d_%d.bin" t k))
                    let f = formats[k]
                    let width = StorageFormat.size f
                    let code (b: byte[]) i = [ 0 .. width - 1 ] |> List.sumBy (fun j -> uint32 b[i * width + j] <<< (8 * j))
                    // Equal codes, or both NaN: a NaN's payload depends on operand order, which compilers may swap.
                    let same i = code expected i = code actual i || (Double.IsNaN(StorageFormat.decode f (code expected i)) && Double.IsNaN(StorageFormat.decode f (code actual i)))
                    match Seq.init (expected.Length / width) id |> Seq.tryFind (same >> not) with
                    | Some i -> failwithf "%O: tensor %d (n=%d) slot %d element %d: CPU 0x%x, kernel 0x%x" config t lengths[t] k i (code expected i) (code actual i)
                    | None -> ()))
    finally
        Directory.Delete(dir, true)
