/// The `cpu` backend of `run` and `compare` (the kernels' CPU twin): inside the tolerance against the spec in float32
/// for every rule (elementwise, structured, and Muon and OAdamW through their optimizer classes), with the same buffers
/// as the spec.
module S3gd.Properties.Cli.KernelBackendTests

open Xunit
open S3gd.Spec.Formats
open S3gd.Cli
open S3gd.Cli.Backend
open S3gd.Spec.Rules

let private options (rule: string) (against: string) (dtypes: Dtypes) : Compare.Options =
    { Rule = rule; Backend = "cpu"; Against = against; Shape = [ 16; 8 ]; Steps = 10; Seed = 3; Dtypes = dtypes; Hypers = []; Name = "weight" }

[<Fact>]
let ``the cpu backend agrees with the spec in float32 for every rule`` () =
    // The structured rules' block sums (128 elements here) add a few float32 roundings per step, far inside the
    // tolerance's per-step allowance of 4.5 ulps; Muon and OAdamW are allowed their Newton–Schulz bound beyond it.
    for rule in Registry.all do
        match Compare.execute Backends.all (options rule.Name "spec" fp32) with
        | Ok reports ->
            Assert.NotEmpty reports
            for r in reports do
                Assert.True(r.Inside, sprintf "%s %s: %A" rule.Name r.Buffer r)
        | Error e -> failwithf "%s: %s" rule.Name e

[<Fact>]
let ``the cpu backend stores bf16 state within the tolerance of the spec rounded to bf16`` () =
    let bf16 = { Param = Bf16; Grad = Bf16; State = Bf16 }
    match Compare.execute Backends.all (options "sgd" "spec-rounded" bf16) with
    | Ok reports -> Assert.All(reports, fun r -> Assert.True(r.Inside && r.Format = Bf16, sprintf "%A" r))
    | Error e -> failwith e
