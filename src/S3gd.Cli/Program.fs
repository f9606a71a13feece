/// Entry point of the s3gd command line.
module S3gd.Cli.Program

open System
open Argu
open S3gd.Cli.Arguments

let private parser = ArgumentParser.Create<S3gdArgs>(programName = "s3gd")

[<EntryPoint>]
let main argv =
    try
        let results = parser.ParseCommandLine(argv, raiseOnUsage = true)
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
            | Some(Bench a) -> Bench.command a
            | Some(Partition a) -> Partition.command a
            | Some(Train a) -> TrainCommand.command a
            | Some(Soak a) -> Soak.command a
            | Some(Verify v) ->
                Verify.run
                    (v.TryPostProcessResult(VerifyArgs.Backend, Verify.parseBackend) |> Option.defaultValue Verify.Best)
                    (v.GetResult(Max_Test, defaultValue = 100))
                    (v.TryGetResult Seed)
            | _ -> eprintfn "%s" (parser.PrintUsage()); Errors.usage
    with :? ArguParseException as e ->
        let help = e.ErrorCode = ErrorCode.HelpText
        (if help then stdout else stderr).WriteLine(e.Message)
        if help then 0 else Errors.usage
