/// `s3gd run --telemetry`: each step's reading (time, largest |update|, non-finite gradients, fallbacks) as a table on
/// the console ("-" where the backend does not measure a number) and as telemetry.csv (an empty cell there).
module S3gd.Cli.RunTelemetry

open System
open System.Globalization
open S3gd.Cli.Backend

/// The telemetry file's name in the output folder.
let fileName = "telemetry.csv"

/// The CSV header: one column per reading.
let header = "step,time_ms,max_abs_update,non_finite_grads,fallbacks"

let private inv (format: string) (x: float) = x.ToString(format, CultureInfo.InvariantCulture)

/// The readings as CSV text: a header, then one row per step; numbers round-trip ("R"), an unmeasured one is empty.
let csv (readings: StepReading list) : string =
    let cell (format: 'T -> string) (v: 'T option) = v |> Option.map format |> Option.defaultValue ""
    let row (r: StepReading) =
        String.Join(",", [ string r.Step; inv "R" r.Milliseconds; cell (inv "R") r.MaxAbsUpdate; cell string r.NonFiniteGrads; cell string r.Fallbacks ])
    String.Join("\n", header :: List.map row readings) + "\n"

/// The readings as table lines: a header, then one line per step; an unmeasured number is "-".
let tableLines (readings: StepReading list) : string list =
    let show (format: 'T -> string) (v: 'T option) = v |> Option.map format |> Option.defaultValue "-"
    sprintf "%6s %10s %14s %10s %9s" "step" "time ms" "max |update|" "non-finite" "fallbacks"
    :: [ for r in readings ->
             sprintf "%6d %10s %14s %10s %9s" r.Step (inv "F3" r.Milliseconds) (show (inv "G6") r.MaxAbsUpdate) (show string r.NonFiniteGrads)
                 (show string r.Fallbacks) ]
