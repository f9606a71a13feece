/// `s3gd verify`: runs the conformance checks (the ones tests/Properties runs) on one backend, with progress and an
/// estimate of the time left, then a table of property x format x result (a failure's reason in its row); exits 1 when a
/// check failed.
module S3gd.Cli.Verify

open System
open Argu
open Spectre.Console
open S3gd.Spec.Formats
open S3gd.Gpu
open S3gd.Gpu.Cuda
open S3gd.Conformance
open S3gd.Cli.Arguments

/// Parses --backend: cpu, cuda, ilgpu-cpu, or best (None: the best available, or S3GD_BACKEND's).
let parseBackend (s: string) : BackendKind option =
    if String.Equals(s.Trim(), "best", StringComparison.OrdinalIgnoreCase) then None else Some(BackendChoice.parse s)

/// Cases per property when --max-test is absent.
let defaultMaxTest = 100

/// The longest failure reason the table prints, characters (the reason comes first, the case it failed on after).
let private reasonLength = 400

/// A failure's reason for the table: `Runner.reason`, cut to `reasonLength`.
let summary (message: string) =
    let text = Runner.reason message
    if text.Length > reasonLength then text.Substring(0, reasonLength) + "..." else text

/// The checks that apply to the backend, narrowed to those whose name contains one of the `--check` texts when given.
let select (backend: Backend) (filters: string list) : Checks.Check list =
    let all = Suite.forBackend backend
    let wanted (c: Checks.Check) = filters.IsEmpty || filters |> List.exists (fun f -> (Checks.name c).Contains(f, StringComparison.OrdinalIgnoreCase))
    all |> List.filter wanted

/// Parses --shard K/N (1 <= K <= N) as (K, N).
let parseShard (s: string) : int * int =
    match s.Split('/') |> Array.map Int32.TryParse with
    | [| (true, k); (true, n) |] when k >= 1 && k <= n -> k, n
    | _ -> failwithf "%s: K/N with 1 <= K <= N" s

/// Shard K of N of the checks: every Nth from the Kth, so that the N shards hold every check once.
let shard (k: int, n: int) (checks: Checks.Check list) : Checks.Check list =
    checks |> List.indexed |> List.filter (fun (i, _) -> i % n = k - 1) |> List.map snd

let private backendName (b: Backend) = b.Kind.Name()

/// Runs the checks on the backend with a progress line; each check's outcome in order.
let private runAll (config: FsCheck.Config) (backend: Backend) (checks: Checks.Check list) =
    use progress = Progress.start "verify" "checks" checks.Length (float checks.Length)
    progress.Start(Checks.name checks.Head)
    [ for i, check in List.indexed checks ->
          let watch = Diagnostics.Stopwatch.StartNew()
          let outcome = Runner.run config backend check
          if Console.IsOutputRedirected then
              progress.Print(sprintf "%s: %s (%.1f s)" (Checks.name check) (if outcome = Runner.Passed then "passed" else "FAILED") watch.Elapsed.TotalSeconds)
          progress.Advance(1.0, checks |> List.tryItem (i + 1) |> Option.map Checks.name |> Option.defaultValue "")
          check, outcome ]

/// Runs the checks that apply to the chosen backend (and match `filters`, and fall in shard `part` when given); 0 when
/// all pass, 1 when one fails.
let run (kind: BackendKind option) (maxTest: int) (seed: uint64 option) (filters: string list) (part: (int * int) option) : int =
    let selection = BackendChoice.openBackend kind
    use backend = selection.Backend
    let selected = select backend filters
    if selected.IsEmpty then
        Errors.fail (sprintf "--check %s: no check of the %s backend has such a name" (String.Join(" --check ", filters)) (backendName backend))
    let checks = part |> Option.map (fun p -> shard p selected) |> Option.defaultValue selected
    match part with
    | Some(k, n) when checks.IsEmpty -> Errors.fail (sprintf "--shard %d/%d: no check falls in it (%d checks selected)" k n selected.Length)
    | _ -> ()
    let seed = seed |> Option.defaultWith Runner.freshSeed
    let ofShard = part |> Option.map (fun (k, n) -> sprintf " (shard %d of %d)" k n) |> Option.defaultValue ""
    AnsiConsole.MarkupLine(sprintf "Backend [bold]%s[/]: %s (%s)" (backendName backend) (Markup.Escape backend.Device) (Markup.Escape selection.Reason))
    AnsiConsole.MarkupLine(sprintf "Seed %d, %d cases per property, %d checks%s" seed maxTest checks.Length ofShard)
    let outcomes = runAll (Runner.config maxTest (Some seed)) backend checks
    let table = Table().AddColumns("Property", "Format", "Result")
    for check, outcome in outcomes do
        let format = check.Format |> Option.map StorageFormat.name |> Option.defaultValue "-"
        let result =
            match outcome with
            | Runner.Passed -> "[green]passed[/]"
            | Runner.Failed message -> "[red]FAILED[/]: " + Markup.Escape(summary message)
        table.AddRow(Markup.Escape check.Property, format, result) |> ignore
    AnsiConsole.Write table
    match backend with
    | :? CudaBackend as cuda ->
        AnsiConsole.MarkupLine(
            sprintf "Kernels for %s: %d compiled by ILGPU %s to PTX %O" cuda.Info.Architecture cuda.Compiler.Compilations CudaAvailability.IlgpuVersion cuda.Compiler.InstructionSet)
    | _ -> ()
    let failed = outcomes |> List.filter (fun (_, o) -> o <> Runner.Passed)
    if failed.IsEmpty then
        AnsiConsole.MarkupLine(sprintf "[green]All %d checks passed[/] on %s." outcomes.Length (backendName backend))
        0
    else
        let only = if failed.Length = 1 then [ fst failed.Head ] else []
        AnsiConsole.MarkupLine(sprintf "[red]%d of %d checks failed.[/]" failed.Length outcomes.Length)
        // A plain line, never wrapped, to copy.
        printfn "Replay with: %s" (Runner.replayCommand backend maxTest seed only)
        Errors.checkFailed

/// The `verify` command: options through Argu's error path, then `run`.
let command (args: ParseResults<VerifyArgs>) : int =
    let kind = args.TryPostProcessResult(VerifyArgs.Backend, parseBackend) |> Option.flatten
    let maxTest =
        args.TryPostProcessResult(Max_Test, fun n -> if n < 1 then failwithf "%d: must be at least 1" n else n) |> Option.defaultValue defaultMaxTest
    let part = args.TryPostProcessResult(Shard, parseShard)
    run kind maxTest (args.TryGetResult Seed) (args.GetResults Check) part
