/// Entry point of the s3gd command line: parses, dispatches, and leaves every failure to `Errors.guard`.
module S3gd.Cli.Program

open System
open Argu
open S3gd.Cli.Arguments

let private parser = ArgumentParser.Create<S3gdArgs>(programName = "s3gd")

/// Runs the command the parsed arguments name.
let private dispatch (results: ParseResults<S3gdArgs>) : int =
    if results.Contains Version then
        printfn "s3gd %s" (Reflection.Assembly.GetExecutingAssembly().GetName().Version.ToString(3))
        0
    else
        match results.TryGetSubCommand() with
        | Some(Formats f) -> Formats.command f
        | Some(List a) -> ListCommand.command a
        | Some(Run a) -> RunCommand.command a
        | Some(Compare a) -> Compare.command a
        | Some Devices -> Devices.run ()
        | Some(Bench a) -> BenchCommand.command a
        | Some(Partition a) -> Partition.command a
        | Some(Train a) -> TrainCommand.command a
        | Some(Soak a) -> Soak.command a
        | Some(Verify v) -> Verify.command v
        | _ -> Errors.fail "no command given (s3gd --help lists the commands)"

[<EntryPoint>]
let main argv =
    Errors.guard (fun () ->
        match (try Ok(parser.ParseCommandLine(argv, raiseOnUsage = true)) with :? ArguParseException as e when e.ErrorCode = ErrorCode.HelpText -> Error e.Message) with
        | Error help ->
            stdout.WriteLine help
            0
        | Ok results -> dispatch results)
