/// `--hyper name=value` parsing: pairs both ways, booleans, whole numbers, words, and errors that name the
/// hyperparameter and its valid range; checked on a rule with every kind of hyperparameter and on every
/// registered rule.
module S3gd.Properties.Cli.HypersTests

open Xunit
open FsCheck
open FsCheck.FSharp
open FsCheck.Xunit
open S3gd.Spec.Rules
open S3gd.Cli

/// A rule with a pair, a flag, a whole number and a word, as later rules (Adam, Muon) will have them.
let private adamLike: RuleInfo =
    { Name = "adam-like"
      Summary = "test rule"
      Reference = "none"
      Hypers =
        [ Hyper.real "lr" 1e-3 ">= 0" (fun v -> v >= 0.0) "learning rate"
          Hyper.real "beta1" 0.9 "[0, 1)" (fun v -> v >= 0.0 && v < 1.0) "first-moment decay"
          Hyper.real "beta2" 0.999 "[0, 1)" (fun v -> v >= 0.0 && v < 1.0) "second-moment decay"
          Hyper.flag "amsgrad" false "keep the running maximum of v"
          Hyper.whole "ns_steps" 5 ">= 1" (fun n -> n >= 1) "Newton-Schulz iterations"
          Hyper.word "adjust_lr_fn" "original" [ "original"; "match_rms_adamw" ] "lr adjustment" ]
      Pairs = [ "betas", "beta1", "beta2" ]
      Create = fun _ -> Error "not created in these tests" }

let private parseOk (assignments: string list) =
    match Hypers.parse adamLike assignments with
    | Ok h -> h
    | Error e -> failwithf "unexpected error: %s" e

let private parseError (assignments: string list) =
    match Hypers.parse adamLike assignments with
    | Ok h -> failwithf "expected an error, got %A" h
    | Error e -> e

[<Property(MaxTest = 50)>]
let ``a pair is accepted as betas=a,b and as beta1=a beta2=b, with the same result`` () =
    let prop (a: float) (b: float) =
        let show (x: float) = x.ToString("R", System.Globalization.CultureInfo.InvariantCulture)
        let together = parseOk [ sprintf "betas=%s,%s" (show a) (show b) ]
        let apart = parseOk [ sprintf "beta1=%s" (show a); sprintf "beta2=%s" (show b) ]
        together = apart && together["beta1"] = Real a && together["beta2"] = Real b
    let beta = Gen.choose (0, 999) |> Gen.map (fun n -> float n / 1000.0)
    Prop.forAll (Arb.fromGen (Gen.zip beta beta)) (fun (a, b) -> prop a b)

[<Fact>]
let ``booleans, whole numbers and words parse to their kinds; defaults fill the rest`` () =
    let h = parseOk [ "amsgrad=true"; "ns_steps=3"; "adjust_lr_fn=match_rms_adamw" ]
    Assert.Equal(Flag true, h["amsgrad"])
    Assert.Equal(Whole 3, h["ns_steps"])
    Assert.Equal(Word "match_rms_adamw", h["adjust_lr_fn"])
    Assert.Equal(Real 1e-3, h["lr"])
    Assert.Equal(Flag false, (parseOk [ "amsgrad=False" ])["amsgrad"])
    Assert.Equal(Real 2.0, (parseOk [ "lr=2" ])["lr"])

[<Fact>]
let ``an unknown name is an error naming it and listing the known names and pairs`` () =
    let e = parseError [ "lr=0.1"; "gamma=0.5" ]
    Assert.Contains("'gamma'", e)
    Assert.Contains("beta2", e)
    Assert.Contains("betas=beta1,beta2", e)

[<Fact>]
let ``an out-of-range value is an error naming it, its value and its valid range`` () =
    Assert.Equal("hyperparameter beta2=1 is out of range (valid: [0, 1))", parseError [ "betas=0.9,1.0" ])
    Assert.Equal("hyperparameter lr=-0.5 is out of range (valid: >= 0)", parseError [ "lr=-0.5" ])
    Assert.Equal("hyperparameter adjust_lr_fn=fast is out of range (valid: original|match_rms_adamw)", parseError [ "adjust_lr_fn=fast" ])

[<Fact>]
let ``values of the wrong kind, malformed pairs, repeats and missing '=' are errors naming the input`` () =
    Assert.Contains("amsgrad: cannot read 'yes' as true or false (valid: true|false)", parseError [ "amsgrad=yes" ])
    Assert.Contains("ns_steps: cannot read '2.5' as a whole number", parseError [ "ns_steps=2.5" ])
    Assert.Contains("lr: cannot read 'fast' as a real number", parseError [ "lr=fast" ])
    Assert.Contains("betas: expected two values", parseError [ "betas=0.9" ])
    Assert.Contains("beta1 is given more than once", parseError [ "betas=0.9,0.99"; "beta1=0.8" ])
    Assert.Contains("--hyper 'lr': expected name=value", parseError [ "lr" ])

[<Fact>]
let ``every registered rule parses its own defaults back to its defaults`` () =
    for rule in Registry.all do
        let defaults = rule.Hypers |> List.map (fun d -> d.Name, d.Default) |> Map.ofList
        let written = rule.Hypers |> List.map (fun d -> sprintf "%s=%s" d.Name (Hyper.show d.Default))
        Assert.Equal(Ok defaults, Hypers.parse rule [])
        Assert.Equal(Ok defaults, Hypers.parse rule written)
