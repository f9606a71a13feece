/// How every command fails: one line on stderr, "s3gd: <what went wrong>", and exit code 2 (as for an Argu parse error);
/// exit code 1 is kept for a check that ran and failed. `guard` is the one place exceptions become that line.
module S3gd.Cli.Errors

open System
open System.IO
open Argu
open S3gd.Gpu
open S3gd.Gpu.Checkpoints

/// Exit code for bad usage, bad input, or a command that could not run.
let usage = 2

/// Exit code when a command ran its check and the check failed (compare, verify, soak).
let checkFailed = 1

/// A failure a command states in its own words (bad input found deep in a command, where a Result would have to
/// thread through every layer).
exception CommandError of string with
    override this.Message = this.Data0

/// Stops the command with one line saying why.
let fail (message: string) : 'a = raise (CommandError message)

/// The first non-empty line of a text, trimmed.
let private firstLine (text: string) =
    text.Split('\n') |> Array.map (fun l -> l.Trim()) |> Array.tryFind (fun l -> l <> "") |> Option.defaultValue ""

/// An exception's message without the " (Parameter 'x')" suffix .NET appends to argument errors.
let private message (e: exn) =
    match e with
    | :? ArgumentException as a when not (isNull a.ParamName) -> a.Message.Replace(sprintf " (Parameter '%s')" a.ParamName, "")
    | _ -> e.Message

/// Argu's error as one line: "ERROR: unrecognized argument: '--x'." then "USAGE: s3gd soak ..." become
/// "unrecognized argument: '--x' (s3gd soak --help lists the options)"; "ERROR parsing '--steps': m" becomes "--steps: m".
let private arguLine (e: ArguParseException) =
    let lines = e.Message.Split('\n') |> Array.map (fun l -> l.Trim())
    let error = firstLine e.Message
    let text =
        if error.StartsWith "ERROR parsing '" then
            let rest = error.Substring "ERROR parsing '".Length
            match rest.IndexOf "':" with
            | i when i > 0 -> rest.Substring(0, i) + ":" + rest.Substring(i + 2)
            | _ -> rest
        else error.Replace("ERROR: ", "").Replace("ERROR ", "").TrimEnd('.')
    let usageLine = lines |> Array.tryFind (fun l -> l.StartsWith "USAGE: ")
    match usageLine with
    | Some u ->
        // "USAGE: s3gd soak [--help] ..." names the command: the words before the first option.
        let command = u.Substring("USAGE: ".Length).Split(' ') |> Array.takeWhile (fun w -> not (w.StartsWith "[") && not (w.StartsWith "<")) |> String.concat " "
        sprintf "%s (%s --help lists the options)" text command
    | None -> text

/// The one line that describes a failure. Bad input, files, backends and checkpoints are their message; any other
/// exception is a bug, and the line names its type.
let rec describe (e: exn) : string =
    match e with
    | :? ArguParseException as a -> arguLine a
    | :? AggregateException as a when a.InnerExceptions.Count = 1 -> describe a.InnerExceptions[0]
    | :? Reflection.TargetInvocationException as t when not (isNull t.InnerException) -> describe t.InnerException
    | CommandError m -> firstLine m
    | :? ArgumentException
    | :? IOException
    | :? UnauthorizedAccessException
    | :? InvalidDataException
    | :? FormatException
    | :? NotSupportedException
    | :? BackendUnavailableException
    | :? UnsupportedFormatException
    | :? CheckpointFormatException
    | :? CheckpointMismatchException -> firstLine (message e)
    | _ -> sprintf "internal error: %s: %s" (e.GetType().Name) (firstLine (message e))

/// Writes the failure as one line ("s3gd: " and the message's first line) to `err`; returns the bad-input exit code.
let reportTo (err: TextWriter) (message: string) =
    err.WriteLine("s3gd: " + firstLine message)
    usage

/// Prints the failure as one line on stderr and returns the bad-input exit code.
let report (message: string) = reportTo stderr message

/// Runs a command; any exception it throws becomes one line on stderr and the bad-input exit code.
let guard (command: unit -> int) : int =
    try command () with e -> report (describe e)

/// Stops at the first error of a list of results.
let sequence (items: Result<'a, string> list) : Result<'a list, string> =
    List.foldBack (fun item acc -> Result.bind (fun xs -> Result.map (fun x -> x :: xs) item) acc) items (Ok [])
