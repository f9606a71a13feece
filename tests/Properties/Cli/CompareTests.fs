/// `s3gd compare`: a backend against itself is exactly zero error; the spec against spec-rounded in bf16
/// is inside the tolerance; an injected wrong result or a missing buffer is outside (exit code 1).
module S3gd.Properties.Cli.CompareTests

open Argu
open Xunit
open FsCheck
open FsCheck.FSharp
open FsCheck.Xunit
open S3gd.Spec.Formats
open S3gd.Spec.Rules
open S3gd.Cli
open S3gd.Cli.Backend

let private bf16 = { Param = Bf16; Grad = Bf16; State = Bf16 }

let private options (rule: string) (backend: string) (against: string) (dtypes: Dtypes) (seed: int) (hypers: string list) : Compare.Options =
    { Rule = rule; Backend = backend; Against = against; Shape = [ 16; 8 ]; Steps = 10; Seed = seed; Dtypes = dtypes; Hypers = hypers; Name = "weight" }

let private reports (backends: Backend list) (o: Compare.Options) =
    match Compare.execute backends o with
    | Ok r -> r
    | Error e -> failwith e

[<Fact>]
let ``every registered rule compared spec against spec has exactly zero error in every buffer`` () =
    for rule in Registry.all do
        for dtypes in [ fp32; bf16 ] do
            let rs = reports Backends.all (options rule.Name "spec" "spec" dtypes 5 [])
            Assert.NotEmpty rs
            for r in rs do
                Assert.True(r.MaxAbs = 0.0 && r.MaxRel = 0.0 && r.Ulps = 0.0 && r.Inside, sprintf "%s %s: %A" rule.Name r.Buffer r)

[<Property(MaxTest = 12)>]
let ``sgd on spec against spec-rounded in bf16 is inside the tolerance, with momentum and Nesterov`` () =
    let prop (seed: int) (hypers: string list) =
        let rs = reports Backends.all (options "sgd" "spec" "spec-rounded" bf16 seed hypers)
        // Rounding every step does change the result: the comparison is not trivially zero.
        rs |> List.forall (fun r -> r.Inside && r.Format = Bf16) && rs |> List.exists (fun r -> r.MaxAbs > 0.0)
    let hypers = Gen.elements [ [ "lr=0.01" ]; [ "lr=0.01"; "momentum=0.9" ]; [ "lr=0.01"; "momentum=0.9"; "nesterov=true"; "weight_decay=0.1" ] ]
    Prop.forAll (Arb.fromGen (Gen.zip (Gen.choose (0, 100000)) hypers)) (fun (s, h) -> prop s h)

/// spec-rounded, then the parameter's first element moved by `ulps` bf16 ulps at the parameter's scale, or a buffer dropped.
let private wrong (ulps: float) (dropBuffers: bool) : Backend =
    { Name = "wrong"
      Summary = "spec-rounded with an injected error"
      Store = SpecBackend.roundTo
      Run =
        fun request ->
            SpecBackend.specRounded.Run request
            |> Result.map (fun o ->
                let p = o.Param.Clone()
                p[0] <- p[0] + ulps * StorageFormat.ulp request.Dtypes.Param (o.Param.InfinityNorm())
                { o with Param = p; Buffers = if dropBuffers then Map.empty else o.Buffers })
      NewtonSchulz = SpecIteration }

[<Fact>]
let ``an injected error beyond the tolerance is outside and gives exit code 1`` () =
    let backends = Backends.all @ [ wrong (2.0 * Tolerance.ulps Bf16 10) false ]
    let rs = reports backends (options "sgd" "wrong" "spec-rounded" bf16 9 [ "momentum=0.9" ])
    let param = rs |> List.find (fun r -> r.Buffer = "param")
    Assert.False(param.Inside)
    Assert.True(param.Ulps > param.Tolerance)
    Assert.True((rs |> List.find (fun r -> r.Buffer = "momentum_buffer")).Inside)
    let parser = ArgumentParser.Create<Arguments.S3gdArgs>(programName = "s3gd")
    let argv (backend: string) = [| "compare"; "--rule"; "sgd"; "--backend"; backend; "--against"; "spec-rounded"; "--shape"; "16x8"; "--param-dtype"; "bf16"; "--hyper"; "momentum=0.9" |]
    let exitCode backend = Compare.runOn backends ((parser.ParseCommandLine(argv backend)).GetResult Arguments.S3gdArgs.Compare)
    Assert.Equal(Errors.checkFailed, exitCode "wrong")
    Assert.Equal(0, exitCode "spec-rounded")

[<Fact>]
let ``a buffer missing on one side is outside the tolerance`` () =
    let rs = reports (Backends.all @ [ wrong 0.0 true ]) (options "sgd" "wrong" "spec-rounded" bf16 9 [ "momentum=0.9" ])
    Assert.True((rs |> List.find (fun r -> r.Buffer = "param")).Inside)
    Assert.False((rs |> List.find (fun r -> r.Buffer = "momentum_buffer")).Inside)

[<Fact>]
let ``the tolerance is half an ulp per step plus the float32 maths`` () =
    // fp32 storage: 1/2 + 8 operations * 1/2 ulp = 4.5 ulps a step; bf16: 1/2 + 4 * 2^-16 (fp32 has 16 more significand bits).
    Assert.Equal(45.0, Tolerance.ulps Fp32 10)
    Assert.Equal(10.0 * (0.5 + 4.0 / 65536.0), Tolerance.ulps Bf16 10)
    Assert.Equal(0.0, Tolerance.ulps Fp8E4M3 0)

[<Fact>]
let ``bad shapes, steps, dtypes and backends are errors naming the option and the value`` () =
    Assert.Equal(Error "--shape '256x0': expected positive dimensions joined by x, such as 256x128", Compare.parseShape "256x0")
    Assert.Equal(Ok [ 256; 128 ], Compare.parseShape "256x128")
    let o = options "sgd" "spec" "spec" fp32 1 []
    Assert.Equal(Error "--steps 0: must be at least 1", Compare.execute Backends.all { o with Steps = 0 })
    Assert.Equal(Error "--against: unknown backend 'tpu' (known: spec, spec-rounded, cpu, cuda)", Compare.execute Backends.all { o with Against = "tpu" })
    let parser = ArgumentParser.Create<Arguments.S3gdArgs>(programName = "s3gd")
    let parsed = parser.ParseCommandLine [| "compare"; "--rule"; "sgd"; "--backend"; "spec"; "--against"; "spec"; "--param-dtype"; "fp8e4m3" |]
    Assert.Equal(Error "--param-dtype 'fp8e4m3': expected one of fp32, bf16", Compare.options (parsed.GetResult Arguments.S3gdArgs.Compare) |> Result.map ignore)
