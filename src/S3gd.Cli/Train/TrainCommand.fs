/// `s3gd train`: trains the spiral MLP with each optimizer named, on one backend, from the same seed; shows progress
/// and the loss as it goes, then each optimizer's final loss and accuracy (and with --telemetry each group's step
/// readings every --log-every steps), and writes DIR/loss.csv (every step's batch loss), DIR/loss.svg (one line per
/// optimizer) and DIR/OPTIMIZER.safetensors (each optimizer's checkpoint with the trained parameters as param.NAME).
module S3gd.Cli.TrainCommand

open System
open System.Globalization
open System.IO
open Argu
open Spectre.Console
open S3gd.Gpu
open S3gd.Cli.Arguments
open S3gd.Cli.Training

/// Loss reports per run when --log-every is not given: one every twentieth of the steps.
let private reports = 20

/// The run's settings and output choices, checked.
type Options =
    { Candidates: Candidate list; Settings: Settings; LogEvery: int; Backend: BackendKind option; Out: string }

let private positive (name: string) (value: int) =
    if value >= 1 then Ok value else Error(sprintf "%s must be at least 1, was %d" name value)

/// Parses --hidden: comma-separated widths, each at least 1.
let parseHidden (text: string) : Result<int list, string> =
    text.Split(',', StringSplitOptions.RemoveEmptyEntries ||| StringSplitOptions.TrimEntries)
    |> List.ofArray
    |> List.map (fun w ->
        match Int32.TryParse(w, NumberStyles.None, CultureInfo.InvariantCulture) with
        | true, v when v >= 1 -> Ok v
        | _ -> Error(sprintf "--hidden '%s': '%s' is not a width (a whole number, at least 1)" text w))
    |> Errors.sequence
    |> Result.bind (fun ws -> if ws.IsEmpty then Error(sprintf "--hidden '%s' names no width" text) else Ok ws)

/// The checked options of a parsed command line; errors name the option and its value.
let options (args: ParseResults<TrainArgs>) : Result<Options, string> =
    let d = Training.defaults
    positive "--steps" (args.GetResult(TrainArgs.Steps, d.Steps))
    |> Result.bind (fun steps -> positive "--batch" (args.GetResult(TrainArgs.Batch, d.Batch)) |> Result.map (fun batch -> steps, batch))
    |> Result.bind (fun (steps, batch) ->
        args.TryGetResult TrainArgs.Hidden |> Option.map parseHidden |> Option.defaultValue (Ok d.Hidden) |> Result.map (fun h -> steps, batch, h))
    |> Result.bind (fun (steps, batch, hidden) ->
        positive "--log-every" (args.GetResult(TrainArgs.Log_Every, max 1 (steps / reports)))
        |> Result.bind (fun logEvery ->
            if logEvery > steps then Error(sprintf "--log-every %d exceeds --steps %d: no loss would be reported" logEvery steps)
            else Ok(steps, batch, hidden, logEvery)))
    |> Result.bind (fun (steps, batch, hidden, logEvery) ->
        resolve (args.GetResult(TrainArgs.Optimizer, "adamw")) (args.GetResult(TrainArgs.Hyper, []))
        |> Result.map (fun candidates ->
            { Candidates = candidates
              Settings =
                { d with
                    Steps = steps
                    Batch = batch
                    Hidden = hidden
                    Seed = args.GetResult(TrainArgs.Seed, d.Seed)
                    Telemetry = args.Contains TrainArgs.Telemetry }
              LogEvery = logEvery
              Backend = args.TryPostProcessResult(TrainArgs.Backend, BackendChoice.parse)
              Out = args.GetResult TrainArgs.Out }))

/// The loss file's name in the output folder: every step's batch loss.
let lossCsv = "loss.csv"

/// The chart's name in the output folder.
let lossSvg = "loss.svg"

/// The mean loss of each window of `every` steps, at the window's last step.
let windows (every: int) (losses: float[]) : (int * float) list =
    [ for e in every .. every .. losses.Length -> e, Array.average losses[e - every .. e - 1] ]

/// loss.csv: a header `step,<optimizer>,...`, then one line per step with each optimizer's batch loss.
let csv (outcomes: Outcome list) : string list =
    let inv (x: float) = x.ToString("R", CultureInfo.InvariantCulture)
    let steps = outcomes |> List.map (fun o -> o.Losses.Length) |> List.max
    String.Join(",", "step" :: [ for o in outcomes -> o.Optimizer ])
    :: [ for s in 1..steps -> String.Join(",", string s :: [ for o in outcomes -> inv o.Losses[s - 1] ]) ]

/// loss.svg: the mean batch loss of every window of `every` steps against the step, one line per optimizer.
let svg (device: string) (every: int) (outcomes: Outcome list) : string option =
    let steps = outcomes |> List.map (fun o -> o.Losses.Length) |> List.max
    // X labels at every quarter of the run.
    let ticks = [ for k in 0..4 -> float (steps * k / 4), string (steps * k / 4) ]
    Chart.render
        { Chart.Chart.Title = sprintf "s3gd train: loss against steps, %s" device
          YLabel = sprintf "loss (mean of %d batches)" every
          YFormat = fun y -> y.ToString("F2", CultureInfo.InvariantCulture)
          XLog = false
          XTicks = ticks
          Series = [ for o in outcomes -> ({ Name = o.Optimizer; Points = [ for s, l in windows every o.Losses -> float s, l ]; Colour = None; Dashed = false }: Chart.Line) ] }

/// The checkpoint file `s3gd train` writes for an optimizer: <optimizer>.safetensors.
let checkpointName (optimizer: string) = optimizer + ".safetensors"

/// The telemetry lines of a run: every `every` steps, one line per param group (a reading the optimizer does not
/// measure shows as "-").
let telemetryLines (every: int) (outcome: Outcome) : string list =
    let show (v: Nullable<'T>) (format: 'T -> string) = if v.HasValue then format v.Value else "-"
    let inv (x: float) = x.ToString("G6", CultureInfo.InvariantCulture)
    sprintf "%-12s %6s %5s %10s %14s %10s %9s" "optimizer" "step" "group" "time ms" "max |update|" "non-finite" "fallbacks"
    :: [ for step in every .. every .. outcome.Telemetry.Length do
             for t in outcome.Telemetry[step - 1] ->
                 sprintf "%-12s %6d %5d %10s %14s %10s %9s" outcome.Optimizer t.Step t.Group (t.WallMilliseconds.ToString("F3", CultureInfo.InvariantCulture))
                     (show t.MaxAbsUpdate inv) (show t.NonFiniteGrads string) (show t.Fallbacks string) ]

/// Trains with every candidate in turn, each checkpoint staged in `output`, showing a progress bar (plain lines when the
/// output is not a terminal).
let private trainAll (backend: Backend) (output: OutFolder.Output) (o: Options) : Result<Outcome list, string> =
    let runOne (candidate: Candidate) (report: int -> float -> unit) =
        let recent = Array.zeroCreate o.LogEvery
        Training.run backend o.Settings candidate (Some(output.Stage(checkpointName candidate.Rule.Name))) (fun step loss ->
            recent[(step - 1) % o.LogEvery] <- loss
            if step % o.LogEvery = 0 then report step (Array.average recent))
    let line (c: Candidate) step loss = sprintf "%-12s step %6d/%d  loss %.4f" c.Rule.Name step o.Settings.Steps loss
    if AnsiConsole.Profile.Capabilities.Interactive then
        AnsiConsole.Progress().Start(fun ctx ->
            [ for c in o.Candidates ->
                  let task = ctx.AddTask(Markup.Escape c.Rule.Name, maxValue = float o.Settings.Steps)
                  runOne c (fun step loss ->
                      task.Value <- float step
                      task.Description <- Markup.Escape(line c step loss)) ])
        |> Errors.sequence
    else
        [ for c in o.Candidates -> runOne c (fun step loss -> printfn "%s" (line c step loss)) ] |> Errors.sequence

/// Runs `s3gd train` with checked options: the output folder checked, then the backend opened; 0 on success, the
/// bad-input code with one line on stderr otherwise.
let execute (o: Options) : int =
    use output = OutFolder.start o.Out
    let selection = BackendChoice.openBackend o.Backend
    use backend = selection.Backend
    let s = o.Settings
    printfn "backend: %s (%s)" backend.Device selection.Reason
    printfn "data: %d spiral arms of %d points (noise %g, seed %d); model: %O, tanh; %d steps of %d rows"
        s.Classes s.PointsPerClass s.Noise s.Seed (S3gd.Gpu.Training.MlpShape(S3gd.Gpu.Training.Spirals.Features, s.Hidden, s.Classes)) s.Steps s.Batch
    match trainAll backend output o with
    | Error e -> Errors.report e
    | Ok outcomes ->
        for r in outcomes do
            printfn "%-12s final loss %.4f  accuracy %.4f  (%.1f s)" r.Optimizer r.Final.Loss r.Final.Accuracy r.Seconds
        if o.Settings.Telemetry then
            for r in outcomes do
                for line in telemetryLines o.LogEvery r do printfn "%s" line
        File.WriteAllText(output.Stage lossCsv, String.Join("\n", csv outcomes) + "\n")
        let chart = svg backend.Device o.LogEvery outcomes
        chart |> Option.iter (fun text -> File.WriteAllText(output.Stage lossSvg, text))
        let files = output.Commit()
        printfn "wrote %s into %s%s" (String.Join(", ", files)) output.Path (if chart.IsNone then sprintf " (no finite loss to chart: no %s)" lossSvg else "")
        0

/// Runs `s3gd train`.
let command (args: ParseResults<TrainArgs>) : int =
    match options args with
    | Error e -> Errors.report e
    | Ok o -> execute o
