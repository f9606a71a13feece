/// The CPU twin's NaN codes, and the CUDA device's reported capabilities.
module S3gd.Properties.Backends.TwinTests

open System
open Xunit
open S3gd.Conformance
open S3gd.Gpu
open S3gd.Gpu.Cpu
open S3gd.Gpu.Cuda
open S3gd.Properties.Backends.BackendFacts

[<Fact>]
let ``the CPU twin decodes every fp8 NaN code to the canonical NaN 0x7FFFFFFF`` () =
    use cpu = new CpuBackend()
    for t in [ ElementType.Fp8E4M3; ElementType.Fp8E5M2 ] do
        let nans = Checks.decodeAllCodes cpu t |> Array.filter (BitConverter.UInt32BitsToSingle >> Single.IsNaN) |> Array.distinct
        Assert.Equal<uint32[]>([| 0x7FFFFFFFu |], nans)

[<Fact>]
let ``the CPU twin keeps a bf16 NaN's sign and payload and sets the quiet bit`` () =
    use cpu = new CpuBackend()
    let codes = Checks.encodeSpecialValues cpu ElementType.BFloat16
    let at (bits: uint32) = codes[Generators.specialValues |> Array.findIndex (fun x -> BitConverter.SingleToUInt32Bits x = bits)]
    Assert.Equal(0x7FC1u, at 0x7FC12345u)
    Assert.Equal(0xFFC1u, at 0xFF812345u)
    Assert.Equal(0x7FC0u, at 0x7F800001u)

[<CudaFact>]
let ``the CUDA backend names its architecture and has fp8 exactly from sm_89`` () =
    use cuda = new CudaBackend()
    Assert.Contains(cuda.Info.Architecture, cuda.Device)
    Assert.Equal(cuda.Info.Major * 10 + cuda.Info.Minor >= 89, cuda.SupportsFp8)
    let choice = cuda.ChooseStateFormat(ElementType.Fp8E4M3, Fp8Fallback.Bf16)
    Assert.Equal((if cuda.SupportsFp8 then ElementType.Fp8E4M3 else ElementType.BFloat16), choice.Actual)
