/// The elementwise kernel compiled to PTX for the H100 (sm_90) by ILGPU, here without a GPU: every rule and the
/// formats' paths. What the CUDA backend needs of ILGPU's output: the device's own `.target` (fp8 conversions need
/// sm_89+; ILGPU alone writes sm_80), no call to a function the driver's JIT cannot link, the two parameters the launch
/// passes, 16-byte vector moves on the aligned path, and every float32 operation of the maths rounded explicitly.
module S3gd.Properties.Elementwise.ElementwisePtxTests

open System.Runtime.InteropServices
open System.Text.RegularExpressions
open Xunit
open S3gd.Spec.Formats
open S3gd.Spec.Rules
open S3gd.Gpu.Cuda
open S3gd.Gpu.Elementwise
open S3gd.Gpu.Kernels

let private compiler = lazy (new CudaKernelCompiler(9, 0, 13000))

let private rule name = match Registry.find name with Ok r -> r | Error e -> failwith e

let private ptxShaped (whole: bool) (launch: ElementwiseLaunch) (config: ElementwiseConfig) =
    let maths = if config.MathBf16 then typeof<CudaBf16Maths> else typeof<CudaMaths>
    compiler.Value.Compile(KernelBackend.ElementwiseKernelFor(config, launch, typeof<CudaOps>, maths, whole))

let private ptxWith = ptxShaped false

let private ptx = ptxWith ElementwiseLaunch.Default

/// A single value rounded to bf16 in one instruction: its code in the upper half, 0.0's in the lower.
let private roundBf16 = "0f00000000;"

/// Instructions of the PTX text matching a pattern.
let private count (pattern: string) (text: string) = Regex.Matches(text, pattern).Count

let private assertLoadable (config: ElementwiseConfig) (compiled: CudaPtx) =
    let text = compiled.Ptx
    let where = config.ToString()
    Assert.True(text.Contains ".target sm_90", sprintf "%s: %s" where (text.Split('\n') |> Array.find (fun l -> l.StartsWith ".target")))
    Assert.True(count @"\bcall(\.uni)?\s" text = 0 && not (text.Contains ".extern"), sprintf "%s calls a function" where)
    Assert.Equal<int list>([ 16; Marshal.SizeOf<ElementwiseArgs>() ], List.ofSeq compiled.ParameterBytes)
    // Every float32 product is mul.rn or fma.rn: the JIT contracts only a plain mul.f32 into an fma, so none is left to it
    // (plain additions, Kahan's, have no product to fuse with).
    Assert.True(count @"\bmul\.f32\s" text = 0, sprintf "%s has a float32 product without a rounding modifier" where)
    // ptxas turns an integer division or remainder into a subroutine call or a float reciprocal (KernelIndex).
    Assert.True(count @"\b(div|rem)\.[su](32|64)\s" text = 0, sprintf "%s has an integer division or remainder" where)

[<Fact>]
let ``every elementwise rule compiles to loadable PTX for sm_90 with vector moves`` () =
    for name in ElementwiseRules.ByName.Keys do
        let config = ElementwiseConfig(rule name, Map.empty)
        let compiled = ptx config
        assertLoadable config compiled
        Assert.True(count @"ld\.global\.v4" compiled.Ptx >= 2, sprintf "%s: no 16-byte loads" name)

[<Fact>]
let ``narrow formats and parameter updates compile to the hardware conversions`` () =
    let adamw = rule "adamw"
    let e4m3 = ElementwiseConfig(adamw, Map.empty, Bf16, Bf16, Fp32, [ StateFormat.Parse "fp8e4m3" ])
    let e5m2 = ElementwiseConfig(rule "s3gd", Map.empty, Bf16, Bf16, Bf16, [ StateFormat.Parse "fp8e5m2-unscaled" ])
    let kahan = ElementwiseConfig(adamw, Map.empty, Bf16, Fp32, Fp32, [ StateFormat.Bf16 ], paramUpdate = ParamUpdate.Kahan)
    let stochastic = ElementwiseConfig(rule "lion", Map.empty, Bf16, Fp32, Fp32, [ StateFormat.Bf16 ], paramUpdate = ParamUpdate.Stochastic)
    for config, instructions in
        [ e4m3, [ "cvt.rn.satfinite.e4m3x2.f32"; "cvt.rn.f16x2.e4m3x2"; "cvt.rn.bf16x2.f32"; "shfl.sync.bfly" ]
          e5m2, [ "cvt.rn.satfinite.e5m2x2.f32"; "cvt.rn.f16x2.e5m2x2"; roundBf16 ]
          kahan, [ roundBf16; "cvt.rn.bf16x2.f32" ]
          stochastic, [ "cvt.rn.bf16x2.f32" ] ] do
        let compiled = ptx config
        assertLoadable config compiled
        for instruction in instructions do
            Assert.True(compiled.Ptx.Contains instruction, sprintf "%O: no %s" config instruction)
        // bf16 rounding is never the two-instruction form (cvt.rn.bf16.f32 to a 16-bit code, then a shift).
        Assert.True(count @"cvt\.rn\.bf16\.f32" compiled.Ptx = 0, sprintf "%O: a two-instruction bf16 rounding" config)

[<Fact>]
let ``the whole-groups kernel moves every buffer as vectors only`` () =
    // Its loads are 16-byte (8-byte for fp8 codes) vectors: no element-by-element load of a 2- or 1-byte code.
    for config in
        [ ElementwiseConfig(rule "s3gd", Map.empty, Bf16, Bf16, Bf16, [ StateFormat.Parse "fp8e4m3-unscaled" ])
          ElementwiseConfig(rule "adamw", Map.empty, Bf16, Bf16, Fp32, [ StateFormat.Bf16 ], paramUpdate = ParamUpdate.Kahan) ] do
        let whole, any = ptxShaped true ElementwiseLaunch.Default config, ptx config
        assertLoadable config whole
        let scalarLoads (compiled: CudaPtx) = count @"ld\.global\.(b16|u16|b8|u8)\s" compiled.Ptx
        Assert.True(scalarLoads whole = 0 && scalarLoads any > 0,
                    sprintf "%O: element-by-element loads whole %d, any %d" config (scalarLoads whole) (scalarLoads any))

[<Fact>]
let ``more groups per thread issue more vector loads`` () =
    let config = ElementwiseConfig(rule "adamw", Map.empty)
    let loads (unroll: int) =
        let compiled = ptxWith (ElementwiseLaunch(unroll, 0)) config
        assertLoadable config compiled
        count @"ld\.global\.v4" compiled.Ptx
    let one, two, four = loads 1, loads 2, loads 4
    Assert.True(one < two && two < four, sprintf "16-byte loads with 1, 2, 4 groups: %d, %d, %d" one two four)

[<Fact>]
let ``block-scaled fp8 state scales by exact multiplications, with no division`` () =
    // SGD with momentum divides nothing itself: a division in its kernel would be the scaling's.
    for state in [ "fp8e4m3"; "fp8e5m2" ] do
        let config = ElementwiseConfig(rule "sgd", Map [ "momentum", Real 0.9 ], Fp32, Fp32, Fp32, [ StateFormat.Parse state ])
        let compiled = ptx config
        assertLoadable config compiled
        Assert.True(count @"\bdiv\." compiled.Ptx = 0, sprintf "%s: the block scaling divides" state)
