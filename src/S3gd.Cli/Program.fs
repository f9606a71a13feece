/// Entry point of the s3gd command line.
module S3gd.Cli.Program

open System
open Argu
open S3gd.Spec.Formats
open S3gd.Cli.Arguments

/// Exit code for bad usage or bad input, as for an Argu parse error.
let private usageError = 2

let private parser = ArgumentParser.Create<S3gdArgs>(programName = "s3gd")

let private collect (parse: string -> Result<'a, string>) (items: string list) =
    let parsed = items |> List.map parse
    match parsed |> List.tryPick (function Error e -> Some e | Ok _ -> None) with
    | Some e -> Error e
    | None -> Ok(parsed |> List.map (function Ok v -> v | Error _ -> failwith "unreachable"))

let private printRows (rows: Result<string list, string>) =
    match rows with
    | Ok lines -> lines |> List.iter (printfn "%s"); 0
    | Error e -> eprintfn "s3gd: %s" e; usageError

let private formats (args: ParseResults<FormatsArgs>) =
    match args.GetSubCommand() with
    | Encode a ->
        StorageFormat.parse (a.GetResult EncodeArgs.Format)
        |> Result.bind (fun f ->
            collect Formats.parseValue (Formats.dropSeparator (a.GetResult(EncodeArgs.Values, []))) |> Result.map (Formats.encodeRows f))
        |> printRows
    | Decode a ->
        StorageFormat.parse (a.GetResult DecodeArgs.Format)
        |> Result.bind (fun f -> collect (Formats.parseCode f) (Formats.dropSeparator (a.GetResult(Codes, []))) |> Result.map (Formats.decodeRows f))
        |> printRows

[<EntryPoint>]
let main argv =
    try
        let results = parser.ParseCommandLine(argv, raiseOnUsage = true)
        if results.Contains Version then
            printfn "s3gd %s" (Reflection.Assembly.GetExecutingAssembly().GetName().Version.ToString(3))
            0
        else
            match results.TryGetSubCommand() with
            | Some(Formats f) -> formats f
            | Some Devices -> Devices.run ()
            | Some(Verify v) ->
                Verify.run
                    (v.TryPostProcessResult(VerifyArgs.Backend, Verify.parseBackend) |> Option.defaultValue Verify.Best)
                    (v.GetResult(Max_Test, defaultValue = 100))
                    (v.TryGetResult Seed)
            | _ -> eprintfn "%s" (parser.PrintUsage()); usageError
    with :? ArguParseException as e ->
        let help = e.ErrorCode = ErrorCode.HelpText
        (if help then stdout else stderr).WriteLine(e.Message)
        if help then 0 else usageError
