// The build script: `dotnet fsi build.fsx <target> [args]`. A plain F# script (FAKE's target module is
// not in the NuGet copy this project uses). Each target runs its dependencies first, once; a failing
// step stops the script with that step's exit code.
open System
open System.Diagnostics
open System.IO

let root = __SOURCE_DIRECTORY__
let solution = Path.Combine(root, "S3gd.sln")
let cli = Path.Combine(root, "src", "S3gd.Cli", "S3gd.Cli.fsproj")
let artifacts = Path.Combine(root, "artifacts")
/// The device-pack folder's size limit, bytes: what fits the GPU machine's 64 MB carry with room to spare (16 MB for
/// scripts and data); the pack keeps ILGPU and CoreLib whole, which ILGPU maps by reflection.
let devicePackLimit = 48L * 1024L * 1024L
/// The built command line: `run` starts it directly; after `build` it can be started as `dotnet <this>` or by the `s3gd`
/// beside it.
let cliDll = Path.Combine(root, "src", "S3gd.Cli", "bin", "Release", "net10.0", "s3gd.dll")
/// Written by every successful `build`: while it is newer than every source, `run` skips restore and build.
let buildStamp = Path.Combine(artifacts, "build.stamp")

/// The newest write time of what the build reads: every file under src/ (bin/ and obj/ aside), the package lock and
/// dependencies, the shared props and the tool manifest.
let newestSource () =
    let src = Path.Combine(root, "src")
    let built (f: string) = Path.GetRelativePath(src, f).Split(Path.DirectorySeparatorChar) |> Array.exists (fun d -> d = "bin" || d = "obj")
    Directory.EnumerateFiles(src, "*", SearchOption.AllDirectories)
    |> Seq.filter (built >> not)
    |> Seq.append ([ "paket.lock"; "paket.dependencies"; "Directory.Build.props"; Path.Combine(".config", "dotnet-tools.json") ] |> List.map (fun f -> Path.Combine(root, f)))
    |> Seq.filter File.Exists
    |> Seq.map File.GetLastWriteTimeUtc
    |> Seq.max

/// Whether the built CLI is newer than every source: then `run` needs no restore and no build.
let cliUpToDate () =
    File.Exists cliDll && File.Exists buildStamp && File.GetLastWriteTimeUtc buildStamp >= newestSource ()

/// Runs a command in the repository root; a non-zero exit stops the script with that code.
let run (exe: string) (args: string list) =
    printfn "> %s %s" exe (String.Join(" ", args))
    let psi = ProcessStartInfo(exe, args, WorkingDirectory = root, UseShellExecute = false)
    use p = Process.Start psi
    p.WaitForExit()
    if p.ExitCode <> 0 then
        eprintfn "build.fsx: '%s %s' failed with exit code %d" exe (String.Join(" ", args)) p.ExitCode
        exit p.ExitCode

/// Runs a command in the current folder, its output and exit code its own: the script exits with that code.
let handOver (exe: string) (args: string list) =
    let psi = ProcessStartInfo(exe, args, WorkingDirectory = Environment.CurrentDirectory, UseShellExecute = false)
    use p = Process.Start psi
    p.WaitForExit()
    exit p.ExitCode

/// A git command's trimmed output in the repository root, or None when git fails (no repository, no such remote).
let git (args: string list) =
    try
        let psi = ProcessStartInfo("git", args, WorkingDirectory = root, UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true)
        use p = Process.Start psi
        let out = p.StandardOutput.ReadToEnd().Trim()
        p.WaitForExit()
        if p.ExitCode = 0 && out <> "" then Some out else None
    with :? ComponentModel.Win32Exception -> None

/// The packages' repository metadata: the commit built, and the origin remote's URL (or S3GD_REPOSITORY_URL).
let repositoryProperties () =
    let url =
        git [ "remote"; "get-url"; "origin" ]
        |> Option.orElse (Environment.GetEnvironmentVariable "S3GD_REPOSITORY_URL" |> Option.ofObj |> Option.filter (String.IsNullOrWhiteSpace >> not))
    if url.IsNone then printfn "pack: no origin remote and no S3GD_REPOSITORY_URL: the packages have no <repository> (NuGet writes it only with a URL)"
    [ yield! git [ "rev-parse"; "HEAD" ] |> Option.map (sprintf "-p:RepositoryCommit=%s") |> Option.toList
      yield! url |> Option.map (sprintf "-p:RepositoryUrl=%s") |> Option.toList ]

let dirSize (dir: string) =
    DirectoryInfo(dir).EnumerateFiles("*", SearchOption.AllDirectories) |> Seq.sumBy (fun f -> f.Length)

/// A target: its name, what it does, the targets it runs first (unless `Fresh` says they need not run) and its action on
/// the remaining arguments.
type Target = { Name: string; Doc: string; DependsOn: string list; Fresh: unit -> bool; Action: string list -> unit }

/// Dependencies always run.
let never () = false

let targets =
    [ { Name = "restore"; Doc = "local tools (paket) and packages"; DependsOn = []; Fresh = never
        Action = fun _ -> run "dotnet" [ "tool"; "restore" ]; run "dotnet" [ "paket"; "restore" ]; run "dotnet" [ "restore"; solution ] }
      { Name = "build"; Doc = "the solution, Release (the CLI: src/S3gd.Cli/bin/Release/net10.0/s3gd)"; DependsOn = [ "restore" ]; Fresh = never
        Action =
          fun _ ->
              run "dotnet" [ "build"; solution; "-c"; "Release"; "--no-restore" ]
              Directory.CreateDirectory artifacts |> ignore
              File.WriteAllText(buildStamp, DateTime.UtcNow.ToString "o") }
      { Name = "test"; Doc = "the properties and tests; results in artifacts/test-results/*.trx"; DependsOn = [ "build" ]; Fresh = never
        Action =
          fun extra ->
              let results = Path.Combine(artifacts, "test-results")
              if Directory.Exists results then Directory.Delete(results, true)
              run "dotnet" ([ "test"; solution; "-c"; "Release"; "--no-build"; "--logger"; "trx"; "--logger"; "console;verbosity=normal"; "--results-directory"; results ] @ extra) }
      { Name = "run"; Doc = "the CLI, with the remaining arguments (restore and build only when a source changed)"; DependsOn = [ "build" ]; Fresh = cliUpToDate
        Action = fun extra -> handOver "dotnet" (cliDll :: extra) }
      { Name = "pack"; Doc = "NuGet packages of S3gd.Spec and S3gd.Gpu into artifacts/packages"; DependsOn = [ "build" ]; Fresh = never
        Action =
          fun _ ->
              let out = Path.Combine(artifacts, "packages")
              run "dotnet" ([ "pack"; solution; "-c"; "Release"; "--no-build"; "-o"; out ] @ repositoryProperties ())
              // Each package must carry its readme, license and XML documentation.
              for package in Directory.GetFiles(out, "*.nupkg") do
                  use zip = IO.Compression.ZipFile.OpenRead package
                  let names = zip.Entries |> Seq.map (fun e -> e.FullName) |> Set.ofSeq
                  let missing =
                      [ "README.md"; "LICENSE" ] |> List.filter (names.Contains >> not)
                      |> List.append (if names |> Set.exists (fun n -> n.StartsWith "lib/" && n.EndsWith ".xml") then [] else [ "lib/*/*.xml" ])
                  if not missing.IsEmpty then
                      eprintfn "build.fsx: %s lacks %s" package (String.Join(", ", missing))
                      exit 1
                  printfn "pack: %s (%d files: readme, license, XML docs)" (Path.GetFileName package) names.Count }
      { Name = "device-pack"; Doc = "a trimmed self-contained linux-x64 CLI in artifacts/device (for a GPU machine without .NET)"; DependsOn = [ "restore" ]; Fresh = never
        Action =
          fun _ ->
              let out = Path.Combine(artifacts, "device")
              if Directory.Exists out then Directory.Delete(out, true)
              run "dotnet" [ "publish"; cli; "-c"; "Release"; "-r"; "linux-x64"; "--self-contained"; "-p:PublishTrimmed=true"; "-p:DebugType=none"; "-p:GenerateDocumentationFile=false"; "-o"; out ]
              let size = dirSize out
              printfn "device-pack: %s, %.1f MB" out (float size / 1e6)
              if size > devicePackLimit then
                  eprintfn "build.fsx: device-pack is %d bytes, over the %d-byte limit" size devicePackLimit
                  exit 1 }
      { Name = "device-prep"; Doc = "artifacts/device plus tools/device/{prelude.sh,verify.sh,bench.sh,profile.sh,bench_torch.py,bench_muon.py}: the folder to carry to a GPU machine and run"; DependsOn = [ "device-pack" ]; Fresh = never
        Action =
          fun _ ->
              let out = Path.Combine(artifacts, "device")
              // The device scripts: prelude.sh (their common start), verify.sh, bench.sh, profile.sh (Nsight Compute over the narrow formats), bench_torch.py and bench_muon.py (PyTorch's side of the benchmarks).
              for file in [ "prelude.sh"; "verify.sh"; "bench.sh"; "profile.sh"; "bench_torch.py"; "bench_muon.py" ] do
                  let script = Path.Combine(out, file)
                  File.Copy(Path.Combine(root, "tools", "device", file), script, true)
                  File.SetUnixFileMode(script, File.GetUnixFileMode script ||| UnixFileMode.UserExecute ||| UnixFileMode.GroupExecute ||| UnixFileMode.OtherExecute)
              printfn "device-prep: run 'bash %s' (or bench.sh) on the GPU machine (logs go to $OUT)" (Path.Combine(out, "verify.sh")) } ]

/// Prints every target with what it does and what it runs first.
let listTargets (out: TextWriter) =
    out.WriteLine "Targets (dotnet fsi build.fsx TARGET [-- ARGS]):"
    for t in targets do out.WriteLine(sprintf "  %-12s %s%s" t.Name t.Doc (if t.DependsOn.IsEmpty then "" else sprintf " (after: %s)" (String.Join(", ", t.DependsOn))))

/// Runs a target after its dependencies (each once, each announced by a line on stderr).
let rec execute (visited: Collections.Generic.HashSet<string>) (extra: string list) (announce: bool) (name: string) =
    match targets |> List.tryFind (fun t -> t.Name = name) with
    | None ->
        eprintfn "build.fsx: unknown target '%s'." name
        listTargets stderr
        exit 2
    | Some t when visited.Add t.Name ->
        if not (t.Fresh ()) then t.DependsOn |> List.iter (execute visited [] true)
        if announce then eprintfn "=== %s ===" t.Name
        t.Action extra
    | Some _ -> ()

match fsi.CommandLineArgs |> Array.toList |> List.tail with
| [] | [ "--help" ] | [ "-h" ] | [ "help" ] -> listTargets stdout
| target :: rest -> execute (Collections.Generic.HashSet()) (match rest with "--" :: r -> r | r -> r) false target
