/// `s3gd verify`'s pieces: a failing check's reason (FsCheck's label, the first failure first, never "Expected true, got
/// false"), the --check filter, and the seeds on which a conformance bound once failed falsely (madam's, centered
/// RMSprop's, the MLP's), found by tools/verify-seeds.sh.
module S3gd.Properties.Backends.VerifyTests

open System
open Xunit
open FsCheck
open FsCheck.FSharp
open S3gd.Conformance
open S3gd.Gpu.Cpu
open S3gd.Cli

/// The seed (with --max-test 100, on the CPU) on which three madam checks failed: an uncertain sign was counted against a
/// share instead of widening the bound.
let private madamSeed = 3847612089150964093UL

/// Cases per property of the runs below.
let private maxTest = 100

/// The seed (with --max-test 100, on the CPU) on which the MLP check failed: a hidden activation from a cancelling sum,
/// whose error scales with the sum's magnitude, was given its own (small) magnitude.
let private mlpSeed = 1011UL

/// The seed (with --max-test 100, on the CPU) on which centered RMSprop with fp8 state failed: square_avg - grad_avg^2
/// was within rounding of zero, the spec's root NaN and the backend's a number (MathBound's MayBeNaN).
let private rmspropSeed = 1004UL

/// A case of the made-up check below, printed by "%A" on several lines.
type private Case = { Lengths: int list; Seed: int }

/// A check of a property that fails on every case.
let private failing (property: int -> Property) : Checks.Check =
    { Property = "always fails"; Format = None; AppliesTo = (fun _ -> true)
      Run = fun config _ -> Check.One(config, Prop.forAll (Arb.fromGen (Gen.choose (1, 9))) property) }

let private reasonOf (check: Checks.Check) =
    use cpu = new CpuBackend()
    match Runner.run (Runner.config 10 (Some 1UL)) cpu check with
    | Runner.Passed -> failwith "the check passed"
    | Runner.Failed message -> message, Verify.summary message

[<Fact>]
let ``a failed label is the reason, the first failure first and on one line, with the case`` () =
    let message, reason =
        reasonOf (failing (fun x -> false |> Prop.label (Checks.failureLabel (sprintf "step 4 tensor 1: element %d outside" x) { Lengths = [ 3; 5 ]; Seed = x })))
    Assert.Contains("Expected true, got false", message)
    Assert.Matches(@"^step 4 tensor 1: element \d outside \[case: \{ Lengths = \[3; 5\] Seed = \d \}\] \(case 1\)$", reason)

[<Fact>]
let ``an exception a property throws is the reason; a check that throws outside a property gives its message`` () =
    let _, reason = reasonOf (failing (fun _ -> invalidArg "x" "the bound is negative"))
    Assert.StartsWith("System.ArgumentException: the bound is negative", reason)
    Assert.EndsWith("(case 1)", reason)
    let _, plain = reasonOf { failing (fun _ -> Prop.ofTestable true) with Run = fun _ _ -> failwith "3 buffers live\nsecond line" }
    Assert.Equal("3 buffers live", plain)

[<Fact>]
let ``a failure names its seed, which replays the same failure, and the verify command that replays it`` () =
    use cpu = new CpuBackend()
    // Fails on about half the cases: which case fails first, and on what value, depends on the seed.
    let check = failing (fun x -> x <= 5 |> Prop.label "above 5")
    let seed = 20261206UL
    let failure () =
        match Runner.run (Runner.config maxTest (Some seed)) cpu check with
        | Runner.Passed -> failwith "the check passed"
        | Runner.Failed message -> message
    let message = failure ()
    // FsCheck's "(seed,gamma)": the seed the run started from, then the gamma of Rnd(seed).
    Assert.Matches(sprintf @"^Falsifiable, after \d+ tests? \(\d+ shrinks?\) \(%d,\d+\)" seed, message)
    Assert.Equal(message, failure ())
    Assert.Equal(
        sprintf "s3gd verify --backend cpu --max-test %d --seed %d --check 'always fails'" maxTest seed,
        Runner.replayCommand cpu maxTest seed [ check ])

[<Fact>]
let ``--check narrows the checks to those whose name holds one of the texts`` () =
    use cpu = new CpuBackend()
    let names = Verify.select cpu [ "madam step"; "ENCODE = SPEC [bf16]" ] |> List.map Checks.name
    Assert.Equal<string list>(
        [ "encode = spec [bf16]"; "madam step = spec, state fp32 [fp32]"; "madam step = spec, state bf16 [bf16]"
          "madam step = spec, state fp8e4m3 [fp8e4m3]"; "madam step = spec, state fp8e5m2 [fp8e5m2]" ], names)
    Assert.Equal(Suite.forBackend cpu |> List.length, Verify.select cpu [] |> List.length)

[<Fact>]
let ``--shard K/N: the N shards hold every selected check once, and a bad part is refused`` () =
    use cpu = new CpuBackend()
    let all = Verify.select cpu []
    for n in [ 1; 3; 8 ] do
        let parts = [ for k in 1..n -> Verify.shard (k, n) all ]
        Assert.True(parts |> List.forall (fun p -> not p.IsEmpty), sprintf "an empty shard of %d" n)
        Assert.Equal<string list>(all |> List.map Checks.name |> List.sort, parts |> List.concat |> List.map Checks.name |> List.sort)
    Assert.Equal((2, 8), Verify.parseShard "2/8")
    for bad in [ "0/8"; "9/8"; "8"; "a/b"; "1/0"; "1/2/3" ] do
        Assert.ThrowsAny<exn>(fun () -> Verify.parseShard bad |> ignore) |> ignore

[<Fact>]
let ``the madam checks pass on the seed that once failed them falsely`` () =
    use cpu = new CpuBackend()
    let checks = Verify.select cpu [ "madam" ]
    Assert.True(checks.Length >= 4, sprintf "%d madam checks" checks.Length)
    for check in checks do
        match Runner.run (Runner.config maxTest (Some madamSeed)) cpu check with
        | Runner.Passed -> ()
        | Runner.Failed message -> failwithf "%s: %s" (Checks.name check) (Runner.reason message)

/// Runs the one check whose name holds `name` on the CPU with the seed; a failure gives its reason.
let private passesOn (seed: uint64) (name: string) =
    use cpu = new CpuBackend()
    match Verify.select cpu [ name ] with
    | [ check ] ->
        match Runner.run (Runner.config maxTest (Some seed)) cpu check with
        | Runner.Passed -> ()
        | Runner.Failed message -> failwith (Runner.reason message)
    | checks -> failwithf "%d checks" checks.Length

[<Fact>]
let ``the RMSprop fp8e4m3 check passes on the seed where a root's argument was within rounding of zero`` () =
    passesOn rmspropSeed "rmsprop step = spec, state fp8e4m3"

[<Fact>]
let ``the MLP check passes on the seed where an activation came from a cancelling sum`` () =
    passesOn mlpSeed "mlp passes"
