/// Running checks with a FsCheck configuration that a seed can replay.
module S3gd.Conformance.Runner

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

/// Runs one check on a backend, catching its failure.
let run (config: Config) (backend: Backend) (check: Checks.Check) : Outcome =
    try
        check.Run config backend
        Passed
    with e -> Failed e.Message
