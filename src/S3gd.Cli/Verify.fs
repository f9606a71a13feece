/// `s3gd verify`: runs the conformance checks (the ones tests/Properties runs) on one backend, with a
/// progress display and a table of property x format x result; exits non-zero on any failure.
module S3gd.Cli.Verify

open System
open Spectre.Console
open S3gd.Spec.Formats
open S3gd.Gpu
open S3gd.Gpu.Cuda
open S3gd.Conformance

/// The backend a run asks for.
type BackendChoice =
    /// The best available one (or S3GD_BACKEND).
    | Best
    /// This kind, or an error when it is unavailable.
    | Kind of BackendKind

/// Parses --backend: cpu, cuda or best; anything else throws, for Argu to report.
let parseBackend (s: string) : BackendChoice =
    if String.Equals(s.Trim(), "best", StringComparison.OrdinalIgnoreCase) then Best
    else
        let kind = Backends.Parse s
        if kind.HasValue then Kind kind.Value
        else failwithf "unknown backend '%s' (expected cpu, cuda or best)" s

/// The longest failure summary printed in the table, characters.
let private summaryLength = 600

/// A failure's essentials for the table: FsCheck's first line, the failing label and the exception's
/// first line, without the (possibly huge) generated arguments.
let summary (message: string) =
    let lines = message.Split('\n') |> Array.map (fun l -> l.TrimEnd())
    let exceptionLine =
        lines |> Array.tryFindIndex (fun l -> l.StartsWith "with exception") |> Option.bind (fun i -> Array.tryItem (i + 1) lines)
    let kept =
        [ yield lines[0]
          yield! lines |> Array.filter (fun l -> l.StartsWith "Label of failing property")
          yield! Option.toList exceptionLine ]
        |> List.distinct
    let text = String.Join(" | ", kept)
    if text.Length > summaryLength then text.Substring(0, summaryLength) + "..." else text

/// Exit code when a check failed or the backend could not be created.
let private failure = 1

let private open' (choice: BackendChoice) : BackendSelection =
    match choice with
    | Best -> Backends.Best()
    | Kind k -> BackendSelection(Backends.Create k, "asked for with --backend")

let private backendName (b: Backend) = b.Kind.Name()

/// Runs every check that applies to the chosen backend; 0 when all pass.
let run (choice: BackendChoice) (maxTest: int) (seed: uint64 option) : int =
    match (try Ok(open' choice) with :? BackendUnavailableException as e -> Error e.Message) with
    | Error message ->
        AnsiConsole.MarkupLine(sprintf "[red]s3gd verify: %s[/]" (Markup.Escape message))
        failure
    | Ok selection ->
        use backend = selection.Backend
        let seed = seed |> Option.defaultWith (fun () -> uint64 (Random.Shared.NextInt64()))
        let config = Runner.config maxTest (Some seed)
        AnsiConsole.MarkupLine(sprintf "Backend [bold]%s[/]: %s (%s)" (backendName backend) (Markup.Escape backend.Device) (Markup.Escape selection.Reason))
        AnsiConsole.MarkupLine(sprintf "Seed %d, %d cases per property" seed maxTest)
        let checks = Suite.forBackend backend
        let outcomes =
            if AnsiConsole.Profile.Capabilities.Interactive then
                AnsiConsole.Progress().Start(fun ctx ->
                    let tasks = checks |> List.map (fun c -> c, ctx.AddTask(Markup.Escape(Checks.name c), maxValue = 1.0))
                    [ for check, task in tasks ->
                          task.StartTask()
                          let outcome = Runner.run config backend check
                          task.Increment 1.0
                          check, outcome ])
            else
                // Redirected output (a log file): one line per finished check instead of a live display.
                [ for check in checks ->
                      let watch = Diagnostics.Stopwatch.StartNew()
                      let outcome = Runner.run config backend check
                      printfn "%s: %s (%.1f s)" (Checks.name check) (if outcome = Runner.Passed then "passed" else "FAILED") watch.Elapsed.TotalSeconds
                      check, outcome ]
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
        let failed = outcomes |> List.filter (fun (_, o) -> o <> Runner.Passed) |> List.length
        if failed = 0 then
            AnsiConsole.MarkupLine(sprintf "[green]All %d checks passed[/] on %s." outcomes.Length (backendName backend))
            0
        else
            AnsiConsole.MarkupLine(sprintf "[red]%d of %d checks failed.[/] Replay with: s3gd verify --backend %s --max-test %d --seed %d" failed outcomes.Length (backendName backend) maxTest seed)
            failure
