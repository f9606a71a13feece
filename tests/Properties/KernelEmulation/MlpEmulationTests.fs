/// mlp.cu without a GPU: its kernels compiled for the host by g++ (shim.h, mlp_harness.cpp: blocks in turn, a block's
/// threads at once, __syncthreads a barrier) replay the launches one ForwardBackward makes (recorded by an Mlp whose
/// primitives only write them down), and must give the CPU twin's loss and gradients bit for bit: the same float32
/// operations in the same order, and the host's tanhf, expf and logf are the C library's, as .NET's MathF calls them
/// here. Skipped, and shown as skipped, where g++ is missing. The GPU itself is checked by the CUDA facts of MlpTests.
module S3gd.Properties.KernelEmulation.MlpEmulationTests

open System
open System.Collections.Generic
open System.IO
open Xunit
open S3gd.Gpu
open S3gd.Gpu.Training
open S3gd.Properties.KernelEmulation.KernelEmulationTests
open S3gd.Conformance.MlpChecks

/// An Mlp that runs nothing: each primitive becomes a line of the harness's ops.txt, and every buffer is saved, as it
/// is when first named (before any launch has run), to buf_<id>.bin.
type private RecordingMlp(backend: Backend, shape: MlpShape, maxBatch: int, dir: string) =
    inherit Mlp(backend, shape, maxBatch)
    let ids = Dictionary<DeviceBuffer, int>(HashIdentity.Reference)
    let ops = ResizeArray<string>()
    let id (b: DeviceBuffer) =
        if isNull b then -1
        else
            match ids.TryGetValue b with
            | true, i -> i
            | _ ->
                let i = ids.Count
                ids[b] <- i
                let values = backend.Download<float32> b
                File.WriteAllBytes(Path.Combine(dir, sprintf "buf_%d.bin" i), Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray())
                i
    /// The launches recorded so far, one a line.
    member _.Ops = List.ofSeq ops
    /// The id a buffer was saved under.
    member _.IdOf(b: DeviceBuffer) = ids[b]
    override _.MatMulInternal(op: MlpMatMul) =
        ops.Add(
            sprintf "matmul %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d" (id op.A) op.AOffset op.ARow op.AInner (id op.B) op.BOffset op.BInner op.BCol
                (id op.C) op.M op.N op.K (id op.Bias) (if op.Tanh then 1 else 0) (id op.TanhOutput))
    override _.SoftmaxCrossEntropyInternal(logits, labels, labelOffset, dlogits, stats, rows, classes, scale) =
        ops.Add(sprintf "softmax %d %d %d %d %d %d %d %d" (id logits) (id labels) labelOffset (id dlogits) (id stats) rows classes (BitConverter.SingleToUInt32Bits scale))
    override _.ColumnSumInternal(x, output, rows, cols) =
        ops.Add(sprintf "colsum %d %d %d %d" (id x) (id output) rows cols)

let private here = __SOURCE_DIRECTORY__

[<GxxTheory>]
[<InlineData("2,8,3", 5, 0, 1)>]
[<InlineData("3,17,9,4", 37, 3, 2)>]
[<InlineData("2,5,2", 300, 7, 3)>]
[<InlineData("4,3", 1, 0, 4)>]
let ``the kernels compiled for the host give the CPU twin's loss and gradients bit for bit`` (widths: string, rows: int, before: int, seed: int) =
    let w = widths.Split ',' |> Array.map int |> List.ofArray
    let shape = MlpShape(w.Head, w[1 .. w.Length - 2], List.last w)
    let rng = Random seed
    let n = before + rows
    let inputs = Array.init (n * shape.Inputs) (fun _ -> float32 (4.0 * rng.NextDouble() - 2.0))
    let labels = Array.init n (fun _ -> float32 (rng.Next shape.Classes))
    let parameters = shape.Initialize seed
    let dir = Directory.CreateTempSubdirectory("s3gd-mlp-emulation-").FullName
    use backend = Backends.Create BackendKind.Cpu
    let run (make: unit -> Mlp) =
        let ps = parameters |> Array.map (upload backend)
        let gs = shape.ParameterLengths |> Seq.map (fun len -> backend.Allocate(ElementType.Float32, len)) |> Array.ofSeq
        let x, y = upload backend inputs, upload backend labels
        use mlp = make ()
        let loss = mlp.ForwardBackward(ps, gs, x, y, before, rows)
        mlp, loss, gs, Seq.concat [ ps; gs; [| x; y |] ]
    try
        let _, twinLoss, twinGrads, twinBuffers = run (fun () -> backend.CreateMlp(shape, rows))
        let recorder, _, recGrads, recBuffers = run (fun () -> new RecordingMlp(backend, shape, rows, dir))
        let recorder = recorder :?> RecordingMlp
        File.WriteAllLines(Path.Combine(dir, "ops.txt"), recorder.Ops)
        File.WriteAllText(Path.Combine(dir, "mlp_kernel.cpp"), kernelSource "mlp.cu")
        for file in [ "shim.h"; "mlp_harness.cpp" ] do
            File.Copy(Path.Combine(here, file), Path.Combine(dir, file))
        // -ffp-contract=off: no a*b+c becomes an fma, as NVRTC's --fmad=false.
        match exec "g++" [ "-std=c++20"; "-O1"; "-pthread"; "-w"; "-ffp-contract=off"; "mlp_harness.cpp"; "-o"; "mlp" ] dir with
        | Some(0, _) -> ()
        | Some(code, log) -> failwithf "g++ failed (%d): %s" code log
        | None -> failwith "g++ did not start"
        match exec (Path.Combine(dir, "mlp")) [ dir ] dir with
        | Some(0, _) -> ()
        | other -> failwithf "the emulated kernels failed: %A" other
        let read (b: DeviceBuffer) = File.ReadAllBytes(Path.Combine(dir, sprintf "out_%d.bin" (recorder.IdOf b)))
        twinGrads |> Array.iteri (fun i g ->
            let expected = Runtime.InteropServices.MemoryMarshal.AsBytes((backend.Download<float32> g).AsSpan()).ToArray()
            let actual = read recGrads[i]
            Assert.True((expected = actual), sprintf "%s of %O: the emulated kernel's gradient differs from the CPU twin's" shape.ParameterNames[i] shape))
        // The last launch sums the row losses: the loss is that sum over the rows, as Mlp computes it.
        let sums = recorder.Ops |> List.last |> fun l -> int (l.Split ' ').[2]
        let s = File.ReadAllBytes(Path.Combine(dir, sprintf "out_%d.bin" sums))
        let loss = float32 (float (BitConverter.ToSingle(s, 0)) / float rows)
        Assert.Equal(BitConverter.SingleToUInt32Bits twinLoss, BitConverter.SingleToUInt32Bits loss)
        Seq.append twinBuffers recBuffers |> Seq.iter (fun b -> b.Dispose())
    finally
        Directory.Delete(dir, true)
