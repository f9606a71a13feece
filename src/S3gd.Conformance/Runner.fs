/// Running checks with a FsCheck configuration that a seed can replay.
module S3gd.Conformance.Runner

open System
open System.Text.RegularExpressions
open FsCheck
open S3gd.Gpu

/// The result of one check.
type Outcome =
    /// Every case agreed.
    | Passed
    /// A case disagreed or the check threw; the message says which.
    | Failed of message: string

/// The configuration of a run: <paramref name="maxTest"/> cases per property, replaying <paramref name="seed"/> when given.
let config (maxTest: int) (seed: uint64 option) : Config =
    let c = Config.QuickThrowOnFailure.WithMaxTest(maxTest).WithQuietOnSuccess(true)
    match seed with
    | Some s -> c.WithReplay(Some { Rnd = Rnd(s); Size = None })
    | None -> c

/// A fresh seed for a run, as `s3gd verify` draws one when none is given.
let freshSeed () : uint64 = uint64 (Random.Shared.NextInt64())

/// The `s3gd verify` command line that replays a run of `checks` on the backend (FsCheck prints the same seed as the first
/// number of its failure's "(seed,gamma)"): each check draws from the seed alone, so one check replays as in the whole run.
let replayCommand (backend: Backend) (maxTest: int) (seed: uint64) (checks: Checks.Check list) : string =
    let only = String.Join("", checks |> List.map (fun c -> sprintf " --check '%s'" (Checks.name c)))
    sprintf "s3gd verify --backend %s --max-test %d --seed %d%s" (backend.Kind.Name()) maxTest seed only

/// Runs one check on a backend, catching its failure.
let run (config: Config) (backend: Backend) (check: Checks.Check) : Outcome =
    try
        check.Run config backend
        Passed
    with e -> Failed e.Message

/// What FsCheck says when a property's boolean is false: no reason of its own.
let private bareFalse = "Expected true, got false."

/// The lines of a block of FsCheck's failure message, as one line: from the line after `start` up to "Original:".
let private block (lines: string[]) (start: int) =
    lines[start..] |> Array.takeWhile (fun l -> l <> "Original:") |> Array.map (fun l -> l.Trim()) |> Array.filter (fun l -> l <> "")

/// The reason a failure message gives, as one line: FsCheck's label of the failing property (the check's own words, the
/// first failure first) and which case failed; the exception a property threw, where it is more than a false boolean;
/// for a check that threw outside a property, its message's first line.
let reason (message: string) : string =
    let lines = message.Replace("\r", "").Split('\n')
    let find (prefix: string) = lines |> Array.tryFindIndex (fun l -> l.StartsWith prefix)
    let single = "Label of failing property: "
    let labels =
        match find single, find "Labels of failing property" with
        | Some i, _ -> Some(String.Join(" ", Array.append [| lines[i].Substring(single.Length).Trim() |] (block lines (i + 1))))
        | None, Some i -> Some(String.Join(" | ", block lines (i + 1)))
        | None, None -> None
    let thrown =
        find "with exception:"
        |> Option.bind (fun i -> Array.tryItem (i + 1) lines)
        |> Option.map (fun l -> Regex.Replace(l.Trim(), @"^System\.Exception: ", ""))
        |> Option.filter (fun l -> l <> bareFalse)
    let case = Regex.Match(lines[0], @"^Falsifiable, after (\d+) tests?")
    match labels, thrown with
    | _ when not case.Success -> lines[0].Trim()
    | Some l, Some t -> sprintf "%s: %s (case %s)" l t case.Groups[1].Value
    | Some l, None -> sprintf "%s (case %s)" l case.Groups[1].Value
    | None, Some t -> sprintf "%s (case %s)" t case.Groups[1].Value
    | None, None -> sprintf "%s (case %s)" (lines[0].Trim()) case.Groups[1].Value
