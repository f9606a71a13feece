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

/// Runs a command in the repository root; a non-zero exit stops the script with that code.
let run (exe: string) (args: string list) =
    printfn "> %s %s" exe (String.Join(" ", args))
    let psi = ProcessStartInfo(exe, args, WorkingDirectory = root, UseShellExecute = false)
    use p = Process.Start psi
    p.WaitForExit()
    if p.ExitCode <> 0 then
        eprintfn "build.fsx: '%s %s' failed with exit code %d" exe (String.Join(" ", args)) p.ExitCode
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

type Target = { Name: string; Doc: string; DependsOn: string list; Action: string list -> unit }

let targets =
    [ { Name = "restore"; Doc = "local tools (paket) and packages"; DependsOn = []
        Action = fun _ -> run "dotnet" [ "tool"; "restore" ]; run "dotnet" [ "paket"; "restore" ]; run "dotnet" [ "restore"; solution ] }
      { Name = "build"; Doc = "the solution, Release"; DependsOn = [ "restore" ]
        Action = fun _ -> run "dotnet" [ "build"; solution; "-c"; "Release"; "--no-restore" ] }
      { Name = "test"; Doc = "the properties and tests; results in artifacts/test-results/*.trx"; DependsOn = [ "build" ]
        Action =
          fun extra ->
              let results = Path.Combine(artifacts, "test-results")
              if Directory.Exists results then Directory.Delete(results, true)
              run "dotnet" ([ "test"; solution; "-c"; "Release"; "--no-build"; "--logger"; "trx"; "--logger"; "console;verbosity=normal"; "--results-directory"; results ] @ extra) }
      { Name = "run"; Doc = "the CLI, with the remaining arguments"; DependsOn = [ "build" ]
        Action = fun extra -> run "dotnet" ([ "run"; "--project"; cli; "-c"; "Release"; "--no-build"; "--" ] @ extra) }
      { Name = "pack"; Doc = "NuGet packages of S3gd.Spec and S3gd.Gpu into artifacts/packages"; DependsOn = [ "build" ]
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
      { Name = "device-pack"; Doc = "a trimmed self-contained linux-x64 CLI in artifacts/device (for a GPU machine without .NET)"; DependsOn = [ "restore" ]
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
      { Name = "device-prep"; Doc = "artifacts/device plus tools/device/{verify.sh,bench.sh,bench_torch.py,bench_muon.py}: the folder to carry to a GPU machine and run"; DependsOn = [ "device-pack" ]
        Action =
          fun _ ->
              let out = Path.Combine(artifacts, "device")
              // The device scripts: verify.sh, bench.sh, bench_torch.py and bench_muon.py (PyTorch's side of the benchmarks).
              for file in [ "verify.sh"; "bench.sh"; "bench_torch.py"; "bench_muon.py" ] do
                  let script = Path.Combine(out, file)
                  File.Copy(Path.Combine(root, "tools", "device", file), script, true)
                  File.SetUnixFileMode(script, File.GetUnixFileMode script ||| UnixFileMode.UserExecute ||| UnixFileMode.GroupExecute ||| UnixFileMode.OtherExecute)
              printfn "device-prep: run 'bash %s' (or bench.sh) on the GPU machine (logs go to $OUT)" (Path.Combine(out, "verify.sh")) } ]

let rec execute (visited: Collections.Generic.HashSet<string>) (extra: string list) (name: string) =
    match targets |> List.tryFind (fun t -> t.Name = name) with
    | None ->
        eprintfn "build.fsx: unknown target '%s'. Targets:" name
        for t in targets do eprintfn "  %-12s %s (after: %s)" t.Name t.Doc (String.Join(", ", t.DependsOn))
        exit 2
    | Some t when visited.Add t.Name ->
        t.DependsOn |> List.iter (execute visited [])
        printfn "=== %s ===" t.Name
        t.Action extra
    | Some _ -> ()

match fsi.CommandLineArgs |> Array.toList |> List.tail with
| [] -> execute (Collections.Generic.HashSet()) [] "--help"
| target :: rest -> execute (Collections.Generic.HashSet()) (match rest with "--" :: r -> r | r -> r) target
