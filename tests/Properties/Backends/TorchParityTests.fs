/// The torch fp32 parity check's pieces: the ulp distance, and its pins naming shipped cases (the check itself runs
/// for every backend in ConformanceTests).
module S3gd.Properties.Backends.TorchParityTests

open System
open Xunit
open S3gd.Conformance

[<Fact>]
let ``ulps counts the floats between two values, across zero and with both zeros equal`` () =
    let next (x: float32) = MathF.BitIncrement x
    Assert.Equal(0L, TorchParity.ulps 1.5f 1.5f)
    Assert.Equal(1L, TorchParity.ulps 1.0f (next 1.0f))
    Assert.Equal(3L, TorchParity.ulps (next (next (next -2.0f))) -2.0f)
    Assert.Equal(0L, TorchParity.ulps 0.0f -0.0f)
    Assert.Equal(2L, TorchParity.ulps (MathF.BitDecrement 0.0f) (next 0.0f))
    Assert.Equal(Int64.MaxValue, TorchParity.ulps Single.NaN 1.0f)

[<Fact>]
let ``every pinned case is shipped, says why, and the shipped cases cover every rule torch and S3gd share`` () =
    let shipped = TorchParity.names () |> Set.ofList
    for KeyValue(name, pin) in TorchParity.pinned do
        Assert.True(shipped.Contains name, sprintf "pinned case %s is not shipped" name)
        Assert.False(String.IsNullOrWhiteSpace pin.Why, name)
    let rules = shipped |> Seq.map (fun n -> (TorchParity.read n).Rule) |> Set.ofSeq
    let expected = set [ "sgd"; "rmsprop"; "adam"; "adamw"; "adamax"; "nadam"; "radam"; "adagrad"; "adadelta"; "asgd"; "rprop"; "adafactor" ]
    Assert.Equal<Set<string>>(expected, rules)
