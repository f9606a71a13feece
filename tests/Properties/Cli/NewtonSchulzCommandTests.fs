/// `run` and `compare` on the Newton–Schulz rules, Muon and OAdamW, through their optimizer classes: the built s3gd
/// compares them on the CPU against the spec within NewtonSchulzTolerance's bound (exit 0, the usual table), runs them
/// on .npy files, and refuses a 1-D parameter for Muon in one line (exit 2); the bound holds over random shapes, seeds
/// and hyperparameters, and an error beyond it reads outside. The CUDA cases are skipped where CUDA is unavailable.
module S3gd.Properties.Cli.NewtonSchulzCommandTests

open System
open System.IO
open Xunit
open FsCheck
open FsCheck.FSharp
open FsCheck.Xunit
open S3gd.Spec.Formats
open S3gd.Spec.Io
open S3gd.Cli
open S3gd.Cli.Backend
open S3gd.Properties.Backends.BackendFacts
open S3gd.Properties.Cli.Temp

/// `s3gd compare --rule RULE --backend BACKEND --against spec` on a 64 x 32 parameter: exit code, stdout, stderr.
let private compare (rule: string) (backend: string) (extra: string list) =
    FailureTests.s3gd None ([ "compare"; "--rule"; rule; "--backend"; backend; "--against"; "spec"; "--shape"; "64x32"; "--steps"; "5"; "--seed"; "1" ] @ extra)

/// Asserts a compare passed: exit 0, nothing on stderr, the heading and a row per buffer, every one inside.
let private passed (rule: string) (backend: string) (buffers: string list) (code: int, stdout: string, stderr: string) =
    Assert.True((code = 0), sprintf "exit %d\n%s%s" code stdout stderr)
    Assert.Equal("", stderr)
    Assert.StartsWith(sprintf "%s: %s against spec, shape 64x32, 5 steps, seed 1" rule backend, stdout)
    // The table wraps long names: match each buffer's first 10 characters.
    for b in buffers do Assert.Contains(b.Substring(0, min 10 b.Length), stdout)
    Assert.Contains("yes", stdout)
    Assert.DoesNotContain("NO", stdout)

[<Fact>]
let ``compare muon on the cpu against the spec is inside the Newton–Schulz bound`` () =
    compare "muon" "cpu" [] |> passed "muon" "cpu" [ "param"; "momentum_buffer" ]

[<Fact>]
let ``compare oadamw on the cpu against the spec is inside the Newton–Schulz bound, its ns_cache too`` () =
    compare "oadamw" "cpu" [ "--hyper"; "update_proj_gap=2" ] |> passed "oadamw" "cpu" [ "param"; "exp_avg"; "exp_avg_sq"; "ns_cache" ]

[<CudaFact>]
let ``compare muon (bf16) and oadamw (float32, and bf16 on request) on cuda against the spec is inside the Newton–Schulz bound`` () =
    compare "muon" "cuda" [] |> passed "muon" "cuda" [ "param"; "momentum_buffer" ]
    compare "oadamw" "cuda" [] |> passed "oadamw" "cuda" [ "param"; "exp_avg"; "exp_avg_sq"; "ns_cache" ]
    compare "oadamw" "cuda" [ "--hyper"; "ns_precision=bf16" ] |> passed "oadamw" "cuda" [ "param"; "exp_avg"; "exp_avg_sq"; "ns_cache" ]
    // The CUDA and CPU projections are both float32 now: held to each other by twice the float32 bound.
    let code, stdout, stderr =
        FailureTests.s3gd None [ "compare"; "--rule"; "oadamw"; "--backend"; "cuda"; "--against"; "cpu"; "--shape"; "64x32"; "--steps"; "5"; "--seed"; "1" ]
    Assert.True((code = 0), sprintf "exit %d\n%s%s" code stdout stderr)
    Assert.DoesNotContain("NO", stdout)

/// A random parameter of the shape and three gradients of it, as .npy files in the folder; both paths.
let private inputs (folder: Folder) (shape: int list) =
    let rng = Random 5
    let values (dims: int list) = Array.init (List.fold (*) 1 dims) (fun _ -> 2.0 * rng.NextDouble() - 1.0)
    let param, grads = folder.File "weight.npy", folder.File "grads.npy"
    Npy.write param (Npy.ofFloats shape (values shape))
    Npy.write grads (Npy.ofFloats (3 :: shape) (values (3 :: shape)))
    param, grads

/// `s3gd run --rule muon` on a 2-D parameter: exit 0, the summary, param.npy and momentum_buffer.npy in its shape.
let private runMuon (backend: string) =
    use folder = new Folder()
    let param, grads = inputs folder [ 8; 4 ]
    let out = folder.File "out"
    let code, stdout, stderr = FailureTests.s3gd None [ "run"; "--rule"; "muon"; "--backend"; backend; "--param"; param; "--grads"; grads; "--out"; out ]
    Assert.True((code = 0), sprintf "exit %d\n%s%s" code stdout stderr)
    Assert.StartsWith(sprintf "muon on %s: 3 steps on 'weight' (8x4)" backend, stdout)
    for file in [ "param.npy"; "momentum_buffer.npy" ] do
        Assert.Equal<int list>([ 8; 4 ], (Npy.read (Path.Combine(out, file))).Shape)
    // The parameter moved: Muon's update is lr' NS(u), about lr per element.
    Assert.NotEqual<float[]>(Npy.toFloats (Npy.read param), Npy.toFloats (Npy.read (Path.Combine(out, "param.npy"))))

[<Fact>]
let ``run muon on the cpu writes the parameter and the momentum buffer`` () = runMuon "cpu"

[<CudaFact>]
let ``run muon on cuda writes the parameter and the momentum buffer`` () = runMuon "cuda"

[<Fact>]
let ``a 1-D parameter for muon is one line naming the argument and the shape, exit 2, nothing written`` () =
    use folder = new Folder()
    let param, grads = inputs folder [ 8 ]
    let out = folder.File "out"
    for backend in [ "spec"; "cpu" ] do
        let code, stdout, stderr = FailureTests.s3gd None [ "run"; "--rule"; "muon"; "--backend"; backend; "--param"; param; "--grads"; grads; "--out"; out ]
        Assert.Equal((2, "", sprintf "s3gd: --param %s has shape 8; muon takes 2-D parameters only\n" param), (code, stdout, stderr))
        Assert.False(Directory.Exists out)
    let code, stdout, stderr = FailureTests.s3gd None [ "compare"; "--rule"; "muon"; "--backend"; "cpu"; "--against"; "spec"; "--shape"; "64" ]
    Assert.Equal((2, "", "s3gd: --shape 64: muon takes 2-D parameters only\n"), (code, stdout, stderr))

/// compare's options for a rule on the cpu against the spec.
let private options (rule: string) (shape: int list) (seed: int) (hypers: string list) : Compare.Options =
    { Rule = rule; Backend = "cpu"; Against = "spec"; Shape = shape; Steps = 4; Seed = seed; Dtypes = fp32; Hypers = hypers; Name = "weight" }

/// Tall, wide, square and single-row or single-column shapes up to 40 x 40.
let private shapes = Gen.zip (Gen.choose (1, 40)) (Gen.choose (1, 40)) |> Gen.map (fun (r, c) -> [ r; c ])

[<Property(MaxTest = 30)>]
let ``muon and oadamw on the cpu are inside the bound for random shapes, seeds and hyperparameters`` () =
    let muon = Gen.elements [ []; [ "nesterov=false" ]; [ "ns_coefficients=cubic"; "ns_steps=3" ]; [ "adjust_lr_fn=match_rms_adamw"; "lr=0.02"; "weight_decay=0.2" ] ]
    let oadamw =
        Gen.elements
            [ []; [ "update_proj_gap=2" ]; [ "update_proj_gap=3"; "scale=2.5"; "ns_steps=2" ]; [ "lr=0.01"; "weight_decay=0.1"; "decouple_lr=true" ]
              [ "ns_precision=bf16"; "update_proj_gap=2" ] ]
    let case = Gen.oneof [ Gen.map2 (fun s h -> "muon", s, h) shapes muon; Gen.map2 (fun s h -> "oadamw", s, h) shapes oadamw ]
    let inside (rule, shape, hypers) seed =
        match Compare.execute Backends.all (options rule shape seed hypers) with
        | Ok reports -> reports |> List.forall (fun r -> r.Inside) |> Prop.label (sprintf "%A" reports)
        | Error e -> false |> Prop.label e
    Prop.forAll (Arb.fromGen (Gen.zip case (Gen.choose (0, 100000)))) (fun (c, s) -> inside c s)

/// The spec with Muon's parameter moved by `error` in its first element, orthogonalising as the CPU does.
let private offBy (error: float) : Backend =
    { SpecBackend.spec with
        Name = "off"
        Run = fun r -> SpecBackend.spec.Run r |> Result.map (fun o -> let p = o.Param.Clone() in p[0] <- p[0] + error; { o with Param = p })
        NewtonSchulz = Float32Iteration }

[<Fact>]
let ``an error of the size of Muon's update reads outside the bound`` () =
    // lr 1e-3 (the default): one step moves each element by about lr' |NS(u)| <= 1e-3 * 1.2.
    let o = { options "muon" [ 16; 8 ] 3 [] with Backend = "off" }
    let param (error: float) =
        match Compare.execute (Backends.all @ [ offBy error ]) o with
        | Ok reports -> reports |> List.find (fun r -> r.Buffer = "param")
        | Error e -> failwith e
    Assert.True((param 0.0).Inside)
    Assert.False((param 1e-3).Inside)
