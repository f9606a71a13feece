/// The structured kernels compiled to PTX for sm_90 by ILGPU (no GPU needed): every kernel of a representative set of
/// configurations (both rules, every first-moment format, Kahan, telemetry, weight decay on and off, every launch layout;
/// the block kernels for segments of any runs and of whole runs) compiles to a module for sm_90 with no calls, no local arrays (the only
/// local slots are the scalar outputs of inline PTX), IEEE-rounded divisions and roots, no integer division, exactly the 16-byte vector loads
/// its runs need, and an argument parameter the size of StructuredArgs.
module S3gd.Properties.Structured.StructuredPtxTests

open System.Text.RegularExpressions
open Xunit
open S3gd.Spec.Formats
open S3gd.Spec.Rules
open S3gd.Gpu.Cuda
open S3gd.Gpu.Kernels
open S3gd.Gpu.Structured

let private rule (name: string) = match Registry.find name with Ok r -> r | Error e -> failwith e

/// The configurations compiled, each with its launch layout.
let private cases =
    [ StructuredConfig(rule "stableadamw", Map [ "weight_decay", Real 0.01 ]), StructuredLaunch(2)
      StructuredConfig(rule "stableadamw", Map [ "kahan_sum", Flag true ], Bf16, Bf16, Bf16, Bf16, true), StructuredLaunch(4)
      StructuredConfig(rule "adam-mini", Map [ "weight_decay", Real 0.0 ], Fp32, Bf16, Bf16), StructuredLaunch(1)
      StructuredConfig(rule "adam-mini", Map.empty, Bf16, Fp32, Fp8E4M3, telemetry = true), StructuredLaunch(2) ]

/// 16-byte vectors of a run of eight elements in a format.
let private vectors (f: StorageFormat) = if f.IsFp32 then 2 else 1

/// The vector loads of a run of the reduction: the gradient and StableAdamW's exp_avg_sq.
let private reduceLoads (c: StructuredConfig) =
    vectors c.Grad + (if c.Rule = StructuredRule.StableAdamW then vectors c.SecondMoment else 0)

/// The vector loads of a run of the update (param, grad, a plain first moment, exp_avg_sq, compensation).
let private updateLoads (c: StructuredConfig) =
    vectors c.Param + vectors c.Grad + (if c.MomentIsFp8 then 0 else vectors c.Moment)
    + (if c.Rule = StructuredRule.StableAdamW then vectors c.SecondMoment else 0) + (if c.HasCompensation then 1 else 0)

/// An fp8 moment's slot, loaded once per segment by the kernels that hold a segment's runs in one warp.
let private slotLoads (c: StructuredConfig) = if c.MomentIsFp8 then 1 else 0

let private count (pattern: string) (ptx: string) = Regex.Matches(ptx, pattern, RegexOptions.Multiline).Count

[<Fact>]
let ``every structured kernel compiles to PTX for sm_90 without calls or local arrays, with its runs' vector loads`` () =
    use compiler = new CudaKernelCompiler(9, 0, 13000)
    for config, launch in cases do
        let warpKernel name = KernelBackend.StructuredKernelFor(name, config, launch, typeof<CudaOps>, typeof<CudaMaths>)
        let all =
            [ // The block kernels of split groups: Reduce holds two runs a warp, for segments of any runs or of whole runs.
              for whole in [ false; true ] do
                  yield sprintf "Reduce whole=%b" whole, KernelBackend.ReduceKernelFor(config, whole, typeof<CudaOps>, typeof<CudaMaths>), 2 * reduceLoads config
              yield nameof StructuredKernels.Finalize, warpKernel (nameof StructuredKernels.Finalize), 0
              // The warp kernels: a lane's runs in flight (Whole's reduction four whatever the layout), an fp8 moment's slot once.
              yield nameof StructuredKernels.Whole, warpKernel (nameof StructuredKernels.Whole),
                    4 * reduceLoads config + launch.Unroll * updateLoads config + slotLoads config
              if config.MomentIsFp8 then
                  yield nameof StructuredKernels.Update, warpKernel (nameof StructuredKernels.Update), launch.Unroll * updateLoads config + slotLoads config
              else
                  // A plain first moment: the update a thread per run, and the block's whole kernel (two runs a warp).
                  for whole in [ false; true ] do
                      yield sprintf "UpdateFlat whole=%b" whole, KernelBackend.UpdateFlatKernelFor(config, whole, typeof<CudaOps>, typeof<CudaMaths>), updateLoads config
                  for warps in [ typeof<EightWarps>; typeof<SixWarps> ] do
                      yield sprintf "WholeBlock %s" warps.Name, KernelBackend.WholeBlockKernelFor(config, typeof<CudaOps>, typeof<CudaMaths>, warps), 2 * updateLoads config ]
        for name, kernel, loads in all do
            let what = sprintf "%s %O %O" name config launch
            let compiled = compiler.Compile(kernel)
            let ptx = compiled.Ptx
            // The launch copies the arguments' bytes as .NET lays them out: ILGPU's parameter must be as large.
            Assert.Equal(sizeof<StructuredArgs>, compiled.ParameterBytes[1])
            Assert.True(count @"^\s*\.target\s+sm_90\b" ptx = 1, sprintf "%s: .target is not sm_90" what)
            Assert.True(count @"^\s*call" ptx = 0, sprintf "%s calls a function" what)
            // ILGPU writes each inline-PTX output through a scalar local slot (ptxas keeps it in a register); nothing larger.
            let locals = Regex.Matches(ptx, @"\.local\s+\.align\s+\d+\s+\.b8\s+\w+\[(\d+)\]") |> Seq.map (fun m -> int m.Groups[1].Value)
            Assert.True(Seq.forall (fun bytes -> bytes <= 4) locals, sprintf "%s keeps an array in local memory" what)
            Assert.True(count @"^\s*(div|sqrt)\.(?!rn\.)\S*f32" ptx = 0, sprintf "%s has a division or root not rounded to nearest" what)
            // ptxas turns an integer division or remainder into a subroutine call or a float reciprocal: the segment
            // table carries what would need one, and powers of two are masks (KernelIndex).
            Assert.True(count @"^\s*(div|rem)\.[su](32|64)\b" ptx = 0, sprintf "%s has an integer division or remainder" what)
            Assert.True(count @"^\s*ld\.global\S*\.v4\." ptx = loads, sprintf "%s: %d 16-byte loads, %d expected" what (count @"^\s*ld\.global\S*\.v4\." ptx) loads)

[<Fact>]
let ``the block kernels of segments of whole runs move every buffer as vectors only`` () =
    // No element-by-element load of a 2-byte code in the whole-runs kernels; the kernels of any runs have them.
    let config = StructuredConfig(rule "stableadamw", Map [ "kahan_sum", Flag true ], Bf16, Bf16, Bf16, Bf16)
    use compiler = new CudaKernelCompiler(9, 0, 13000)
    let scalarLoads (kernel: System.Reflection.MethodInfo) = count @"ld\.global\.(b16|u16|b8|u8)\s" (compiler.Compile kernel).Ptx
    for name, kernelFor in
        [ "Reduce", (fun whole -> KernelBackend.ReduceKernelFor(config, whole, typeof<CudaOps>, typeof<CudaMaths>))
          "UpdateFlat", (fun whole -> KernelBackend.UpdateFlatKernelFor(config, whole, typeof<CudaOps>, typeof<CudaMaths>)) ] do
        let whole, any = scalarLoads (kernelFor true), scalarLoads (kernelFor false)
        Assert.True(whole = 0 && any > 0, sprintf "%s: element-by-element loads whole %d, any %d" name whole any)
