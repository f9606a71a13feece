/// How commands report bad input: one line on stderr and the exit code of an Argu parse error.
module S3gd.Cli.Errors

/// Exit code for bad usage or bad input, as for an Argu parse error.
let usage = 2

/// Prints the error as one line on stderr and returns the bad-input exit code.
let report (message: string) =
    eprintfn "s3gd: %s" message
    usage

/// Stops at the first error of a list of results.
let sequence (items: Result<'a, string> list) : Result<'a list, string> =
    List.foldBack (fun item acc -> Result.bind (fun xs -> Result.map (fun x -> x :: xs) item) acc) items (Ok [])
