/// Every command's failures, each run as its own process (the real exit code and stderr): a bad backend (by --backend
/// and by S3GD_BACKEND), an unwritable --out (a folder below a file; in a read-only folder too, where the user is not
/// root) and a bad option, where the command has them. Each
/// must exit 2 with exactly one line on stderr, "s3gd: ..." naming the cause, nothing on stdout, and write nothing.
module S3gd.Properties.Cli.FailureTests

open System
open System.Diagnostics
open System.IO
open Xunit
open S3gd.Spec.Io
open S3gd.Properties.Backends.BackendFacts
open S3gd.Properties.Cli.Temp

/// The longest a failing command may take: it must stop before any work.
let private limit = TimeSpan.FromSeconds 60.0

/// Runs the s3gd built beside the tests with `args` (and `backend` as S3GD_BACKEND, or none); exit code, stdout, stderr.
let s3gd (backend: string option) (args: string list) : int * string * string =
    let host = Environment.GetEnvironmentVariable "DOTNET_HOST_PATH" |> Option.ofObj |> Option.defaultValue "dotnet"
    let psi = ProcessStartInfo(host, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false)
    psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "s3gd.dll"))
    for a in args do psi.ArgumentList.Add a
    psi.Environment.Remove "S3GD_BACKEND" |> ignore
    backend |> Option.iter (fun b -> psi.Environment["S3GD_BACKEND"] <- b)
    use p = Process.Start psi
    let out = p.StandardOutput.ReadToEndAsync()
    let err = p.StandardError.ReadToEndAsync()
    if not (p.WaitForExit limit) then
        p.Kill true
        failwithf "s3gd %s ran over %O" (String.Join(" ", args)) limit
    p.ExitCode, out.Result, err.Result

/// Every file and folder under a folder, relative, sorted.
let private snapshot (dir: string) =
    Directory.GetFileSystemEntries(dir, "*", SearchOption.AllDirectories) |> Array.map (fun f -> Path.GetRelativePath(dir, f)) |> Array.sort

/// One failing invocation: S3GD_BACKEND, the arguments, and a text the error line must hold.
type private Failure = { Backend: string option; Args: string list; Says: string }

/// Whether a folder made read-only can still be written (root can): then that case cannot be tried.
let private readOnlyIsWritable (dir: string) =
    try
        File.WriteAllText(Path.Combine(dir, "probe"), "")
        File.Delete(Path.Combine(dir, "probe"))
        true
    with :? UnauthorizedAccessException -> false

/// The failing invocations of a command, in a folder holding `file` (a regular file), a read-only folder `locked` and a
/// valid param.npy and grads.npy.
let private failures (command: string) (folder: Folder) : Failure list =
    let file = folder.File "file"
    let below = Path.Combine(file, "out")
    let out = folder.File "out"
    let param, grads = folder.File "param.npy", folder.File "grads.npy"
    let plain args says = { Backend = None; Args = command :: args; Says = says }
    // Below a file, and (where the user is not root) in a read-only folder: --out cannot be written.
    let locked = folder.File "locked"
    let unwritable (args: string list) =
        plain (args @ [ "--out"; below ]) (sprintf "--out %s: %s is a file, not a folder" below file)
        :: (if readOnlyIsWritable locked then [] else [ plain (args @ [ "--out"; Path.Combine(locked, "out") ]) (sprintf "%s is not writable" locked) ])
    // devices takes no options: its --help is the top level's.
    let helpOf = if command = "devices" then "s3gd" else "s3gd " + command
    let badOption = plain [ "--bogus" ] (sprintf "unrecognized argument: '--bogus' (%s --help lists the options)" helpOf)
    // The CUDA backend where this machine has none: the case a user without a GPU meets.
    let noCuda (args: string list) =
        match cudaUnavailable () with
        | Some _ -> [ plain ([ "--backend"; "cuda" ] @ args) "the Cuda backend is unavailable" ]
        | None -> []
    let environment (args: string list) = { Backend = Some "bogus"; Args = command :: args; Says = "S3GD_BACKEND='bogus' is not a backend" }
    match command with
    | "run" ->
        let inputs = [ "--rule"; "sgd"; "--param"; param; "--grads"; grads ]
        [ plain (inputs @ [ "--backend"; "tpu"; "--out"; out ]) "--backend: unknown backend 'tpu'"
          plain (inputs @ [ "--out"; out; "--bogus" ]) "unrecognized argument: '--bogus'" ]
        @ unwritable inputs
    | "compare" ->
        [ plain [ "--rule"; "adam"; "--backend"; "tpu"; "--against"; "spec" ] "--backend: unknown backend 'tpu'"; badOption ]
    | "verify" ->
        [ plain [ "--backend"; "tpu" ] "--backend: unknown backend 'tpu'"; environment []; badOption
          plain [ "--backend"; "cpu"; "--shard"; "9/8" ] "--shard: 9/8: K/N with 1 <= K <= N"
          plain [ "--backend"; "cpu"; "--check"; "encode = spec"; "--shard"; "5/5" ] "--shard 5/5: no check falls in it" ]
        @ noCuda []
    | "devices" -> [ environment []; badOption ]
    | "soak" | "bench" | "train" ->
        [ plain [ "--backend"; "tpu"; "--out"; out ] "--backend: unknown backend 'tpu'"
          environment [ "--out"; out ]
          plain [ "--backend"; "cpu"; "--out"; out; "--bogus" ] "unrecognized argument: '--bogus'" ]
        @ unwritable [ "--backend"; "cpu" ]
        @ noCuda [ "--out"; out ]
    | _ -> [ badOption ]

[<Theory>]
[<InlineData("run")>]
[<InlineData("compare")>]
[<InlineData("verify")>]
[<InlineData("devices")>]
[<InlineData("soak")>]
[<InlineData("bench")>]
[<InlineData("train")>]
[<InlineData("formats")>]
[<InlineData("list")>]
[<InlineData("partition")>]
let ``a failing command exits 2 with one line on stderr and writes nothing`` (command: string) =
    use folder = new Folder()
    File.WriteAllText(folder.File "file", "a file, not a folder")
    Npy.write (folder.File "param.npy") (Npy.ofFloats [ 2 ] [| 1.0; 2.0 |])
    Npy.write (folder.File "grads.npy") (Npy.ofFloats [ 1; 2 ] [| 0.5; 0.5 |])
    let locked = folder.File "locked"
    Directory.CreateDirectory locked |> ignore
    File.SetUnixFileMode(locked, UnixFileMode.UserRead ||| UnixFileMode.UserExecute)
    let before = snapshot folder.Path
    try
        for f in failures command folder do
            let code, out, err = s3gd f.Backend f.Args
            let what = sprintf "s3gd %s%s" (String.Join(" ", f.Args)) (f.Backend |> Option.map (sprintf " with S3GD_BACKEND=%s") |> Option.defaultValue "")
            Assert.True(2 = code, sprintf "%s: exit code %d, stderr %s" what code err)
            match err.TrimEnd('\n').Split('\n') with
            | [| line |] ->
                Assert.StartsWith("s3gd: ", line)
                Assert.Contains(f.Says, line)
            | lines -> failwithf "%s: %d lines on stderr: %s" what lines.Length err
            Assert.True(String.IsNullOrEmpty out, sprintf "%s wrote to stdout: %s" what out)
            Assert.Equal<string[]>(before, snapshot folder.Path)
    finally
        File.SetUnixFileMode(locked, UnixFileMode.UserRead ||| UnixFileMode.UserWrite ||| UnixFileMode.UserExecute)

[<Fact>]
let ``a command that fails once under way, after its output folder was checked, prints one line and leaves nothing`` () =
    use folder = new Folder()
    let out = folder.File "nested/out"
    // Muon steps float32 parameters only: the optimizer is refused after the backend and the folder are set up.
    let code, stdout, err = s3gd None [ "soak"; "--backend"; "cpu"; "--optimizer"; "muon"; "--param-dtype"; "bf16"; "--steps"; "20"; "--every"; "5"; "--out"; out ]
    Assert.Equal(2, code)
    Assert.Equal("", stdout)
    Assert.Equal("s3gd: param group 0: Muon steps float32 parameters and gradients; 'layer.weight' is bf16 with fp32 gradients\n", err)
    Assert.Empty(snapshot folder.Path)

[<Fact>]
let ``a training run whose loss turns non-finite stops with one line naming the optimizer and the step`` () =
    use folder = new Folder()
    let out = folder.File "out"
    let code, _, err = s3gd None [ "train"; "--backend"; "cpu"; "--optimizer"; "sgd"; "--hyper"; "lr=1e300"; "--steps"; "20"; "--hidden"; "8"; "--out"; out ]
    Assert.Equal(2, code)
    Assert.Equal("s3gd: sgd: the batch loss is NaN at step 2, so its gradients are not finite (a smaller lr may help)\n", err)
    Assert.Empty(snapshot folder.Path)
