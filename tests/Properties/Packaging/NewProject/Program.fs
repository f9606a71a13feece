// The README's F# example of "Use it from your project": one AdamW step on the CPU backend, and the spec's bf16 code
// of the result. The new-project test (NewProjectTests.fs) builds it against the packed S3gd.Spec and S3gd.Gpu in a
// console project of its own, on the SDK's own FSharp.Core.
open System
open S3gd.Spec.Formats
open S3gd.Gpu
open S3gd.Gpu.Optimizers

[<EntryPoint>]
let main _ =
    use backend = Backends.Create BackendKind.Cpu
    use w = Parameter.Allocate(backend, "w", [ 4 ])
    use opt = new AdamW([ ParamGroup([ w ]) ], lr = 0.1)
    backend.Upload<float32>(w.Param, ReadOnlySpan [| 1.0f; 2.0f; 3.0f; 4.0f |])
    backend.Upload<float32>(w.Grad, ReadOnlySpan [| 1.0f; -1.0f; 1.0f; -1.0f |])
    opt.Step()
    let p = backend.Download<float32> w.Param
    printfn "%s" (String.Join(" ", p))
    printfn "bf16 0x%04x" (StorageFormat.encode Bf16 (float p[0]))
    0
