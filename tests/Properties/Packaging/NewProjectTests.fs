/// The README's "Use it from your project", tried as a user would, outside the repository: the packages packed from
/// the built projects into a local source, a C# and an F# console project made with `dotnet new console`, the package
/// added by `dotnet add package`, built with warnings as errors (the F# one on the SDK's own FSharp.Core: no NU1605
/// downgrade) and run: one AdamW step on the CPU backend each.
module S3gd.Properties.Packaging.NewProjectTests

open System
open System.Diagnostics
open System.IO
open System.Reflection
open Xunit

/// The longest one dotnet command of the test may take.
let private commandLimit = TimeSpan.FromMinutes 5.0

/// The repository root: the folder above the test assembly that holds S3gd.sln.
let private repositoryRoot () =
    let rec up (dir: DirectoryInfo) =
        if isNull dir then failwith "no S3gd.sln above the test assembly"
        elif File.Exists(Path.Combine(dir.FullName, "S3gd.sln")) then dir.FullName
        else up dir.Parent
    up (DirectoryInfo AppContext.BaseDirectory)

/// Runs dotnet with `args` in `dir`, outside this test run's MSBuild and test-host settings; its output, or a failure
/// holding it.
let private dotnet (dir: string) (args: string list) =
    let host = Environment.GetEnvironmentVariable "DOTNET_HOST_PATH" |> Option.ofObj |> Option.defaultValue "dotnet"
    let psi = ProcessStartInfo(host, args, WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false)
    for key in psi.Environment.Keys |> Seq.toList do
        if key.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase) || key.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase) then
            psi.Environment.Remove key |> ignore
    psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] <- "1"
    psi.Environment["DOTNET_NOLOGO"] <- "1"
    use p = Process.Start psi
    let out = p.StandardOutput.ReadToEndAsync()
    let err = p.StandardError.ReadToEndAsync()
    if not (p.WaitForExit commandLimit) then
        p.Kill true
        failwithf "dotnet %s ran over %O" (String.Join(" ", args)) commandLimit
    if p.ExitCode <> 0 then failwithf "dotnet %s (in %s) exited %d:\n%s\n%s" (String.Join(" ", args)) dir p.ExitCode out.Result err.Result
    out.Result

/// A console project made as a user makes it, with the packages added and the example program in place.
let private consoleProject (root: string) (language: string) (name: string) (packages: string list) (version: string) (program: string) =
    dotnet root [ "new"; "console"; "--language"; language; "--name"; name; "--output"; name; "--framework"; "net10.0" ] |> ignore
    let dir = Path.Combine(root, name)
    for package in packages do
        dotnet dir [ "add"; "package"; package; "--version"; version; "--no-restore" ] |> ignore
    let source = Path.Combine(AppContext.BaseDirectory, "Packaging", "NewProject", program)
    File.Copy(source, Path.Combine(dir, program), true)
    dir

[<Fact>]
let ``a new C# and a new F# project use the packed packages from a local source, without a warning`` () =
    let root = repositoryRoot ()
    let configuration = Assembly.GetExecutingAssembly().GetCustomAttribute<AssemblyConfigurationAttribute>().Configuration
    let work = Path.Combine(Path.GetTempPath(), "s3gd-newproject-" + Guid.NewGuid().ToString "N")
    // A version of this run alone, so NuGet's global package folder serves no package packed by an earlier run.
    let version = sprintf "0.1.0-newproject.%d" (DateTime.UtcNow.Ticks / TimeSpan.TicksPerSecond)
    let globalPackages =
        Environment.GetEnvironmentVariable "NUGET_PACKAGES" |> Option.ofObj
        |> Option.defaultWith (fun () -> Path.Combine(Environment.GetFolderPath Environment.SpecialFolder.UserProfile, ".nuget", "packages"))
    Directory.CreateDirectory work |> ignore
    try
        let packages = Path.Combine(work, "packages")
        dotnet root [ "pack"; "S3gd.sln"; "-c"; configuration; "--no-build"; "-o"; packages; sprintf "-p:Version=%s" version ] |> ignore
        // The README's local source: a nuget.config beside the projects adding the folder (the other sources stay).
        File.WriteAllText(Path.Combine(work, "nuget.config"), "<configuration><packageSources /></configuration>")
        dotnet work [ "nuget"; "add"; "source"; packages; "--name"; "s3gd-local"; "--configfile"; Path.Combine(work, "nuget.config") ] |> ignore
        // Any warning (NU1605 among them) fails the build.
        let buildAndRun (dir: string) =
            let built = dotnet dir [ "build"; "-c"; "Release"; "-p:TreatWarningsAsErrors=true" ]
            Assert.Contains("0 Warning(s)", built)
            dotnet dir [ "run"; "--no-build"; "-c"; "Release" ]
        let csOut = buildAndRun (consoleProject work "C#" "CsApp" [ "S3gd.Gpu" ] version "Program.cs")
        let fsOut = buildAndRun (consoleProject work "F#" "FsApp" [ "S3gd.Spec"; "S3gd.Gpu" ] version "Program.fs")
        // AdamW's first step moves each weight by lr against its gradient's sign, after lr * weight_decay of decay.
        let expected = "0.899 2.098 2.897 4.096"
        let rounded (line: string) =
            String.Join(" ", line.Trim().Split(' ') |> Array.map (fun x -> Math.Round(float x, 3).ToString(Globalization.CultureInfo.InvariantCulture)))
        Assert.Equal(expected, rounded csOut)
        let lines = fsOut.Trim().Split('\n')
        Assert.Equal(expected, rounded lines[0])
        Assert.Equal("bf16 0x3f66", lines[1].Trim())
    finally
        Directory.Delete(work, true)
        for package in [ "s3gd.spec"; "s3gd.gpu" ] do
            let cached = Path.Combine(globalPackages, package)
            if Directory.Exists(Path.Combine(cached, version)) then Directory.Delete(Path.Combine(cached, version), true)
            if Directory.Exists cached && Seq.isEmpty (Directory.EnumerateFileSystemEntries cached) then Directory.Delete cached
