/// The kernel sources as NVRTC gets them (KernelSources): each embedded kernel file is its file on disk with
/// `#include "common.cuh"` replaced by the header's text, the same text the g++ emulation tests compile; an include of
/// anything else, or an include inside the header, is an error naming it.
module S3gd.Properties.KernelEmulation.KernelSourcesTests

open System
open System.IO
open Xunit
open S3gd.Gpu.Cuda
open S3gd.Properties.KernelEmulation.KernelEmulationTests

/// A line that is a preprocessor include.
let private isInclude (line: string) = line.TrimStart().StartsWith "#include"

/// Every kernel file (*.cu) of the sources.
let kernelFiles () : obj[] seq =
    Directory.GetFiles(kernelsFolder, "*.cu") |> Seq.map (fun f -> [| box (Path.GetFileName f) |])

[<Theory; MemberData(nameof kernelFiles)>]
let ``an embedded kernel source is its file on disk with the header expanded`` (file: string) =
    let embedded = KernelSources.Load file
    Assert.Equal(KernelSources.LoadFrom(kernelsFolder, file), embedded)
    Assert.DoesNotContain(embedded.Split '\n', Predicate isInclude)
    let raw = File.ReadAllText(Path.Combine(kernelsFolder, file))
    let header = File.ReadAllText(Path.Combine(kernelsFolder, "common.cuh"))
    // Including the header adds its lines in place of the include line; a file without it is unchanged.
    if raw.Split('\n') |> Array.exists isInclude then
        Assert.Contains(header, embedded)
        Assert.Equal(raw.Split('\n').Length - 1 + header.Split('\n').Length - 1, embedded.Split('\n').Length)
    else Assert.Equal(raw, embedded)

[<Fact>]
let ``an include of anything but the kernel header is an error naming it`` () =
    let e = Assert.Throws<ArgumentException>(fun () -> KernelSources.Expand("k.cu", "#define X 1\n#include \"other.cuh\"\n", fun _ -> "") |> ignore)
    Assert.Contains("'k.cu'", e.Message)
    Assert.Contains("'other.cuh'", e.Message)
    let angled = Assert.Throws<ArgumentException>(fun () -> KernelSources.Expand("k.cu", "  #  include <cuda_fp16.h>\n", fun _ -> "") |> ignore)
    Assert.Contains("'cuda_fp16.h'", angled.Message)

[<Fact>]
let ``the header is expanded in place, one level only`` () =
    let expanded = KernelSources.Expand("k.cu", "a\n#include \"common.cuh\"\nb\n", fun _ -> "h1\nh2")
    Assert.Equal("a\nh1\nh2\nb\n", expanded)
    let e = Assert.Throws<ArgumentException>(fun () ->
        KernelSources.Expand("k.cu", "#include \"common.cuh\"\n", fun _ -> "#include \"common.cuh\"\n") |> ignore)
    Assert.Contains("'common.cuh'", e.Message)
    Assert.Contains("one level", e.Message)
