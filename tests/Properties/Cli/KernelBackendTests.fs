/// The `cpu` backend of `run` and `compare` (the fused kernels' CPU twin): inside the tolerance against the spec in
/// float32 for every rule with a kernel (elementwise and structured), the same buffers as the spec, and a clear error for a rule without a kernel.
module S3gd.Properties.Cli.KernelBackendTests

open Xunit
open S3gd.Spec.Formats
open S3gd.Cli
open S3gd.Cli.Backend
open S3gd.Gpu.Elementwise

let private options (rule: string) (against: string) (dtypes: Dtypes) : Compare.Options =
    { Rule = rule; Backend = "cpu"; Against = against; Shape = [ 16; 8 ]; Steps = 10; Seed = 3; Dtypes = dtypes; Hypers = []; Name = "weight" }

[<Fact>]
let ``the cpu backend agrees with the spec in float32 for every rule with a fused kernel`` () =
    // The structured rules too: their block sums (128 elements here) add a few float32 roundings per step, far inside
    // the tolerance's per-step allowance of 4.5 ulps.
    for rule in Seq.append ElementwiseRules.ByName.Keys Catalog.structuredRules do
        match Compare.execute Backends.all (options rule "spec" fp32) with
        | Ok reports ->
            Assert.NotEmpty reports
            for r in reports do
                Assert.True(r.Inside, sprintf "%s %s: %A" rule r.Buffer r)
        | Error e -> failwithf "%s: %s" rule e

[<Fact>]
let ``the cpu backend stores bf16 state within the tolerance of the spec rounded to bf16`` () =
    let bf16 = { Param = Bf16; Grad = Bf16; State = Bf16 }
    match Compare.execute Backends.all (options "sgd" "spec-rounded" bf16) with
    | Ok reports -> Assert.All(reports, fun r -> Assert.True(r.Inside && r.Format = Bf16, sprintf "%A" r))
    | Error e -> failwith e

[<Fact>]
let ``a rule without a fused kernel is an error naming it`` () =
    match Compare.execute Backends.all (options "muon" "spec" fp32) with
    | Error e -> Assert.Contains("muon", e)
    | Ok r -> failwithf "muon ran on the cpu backend: %A" r
