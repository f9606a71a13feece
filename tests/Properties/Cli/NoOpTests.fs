/// No silent no-op: option combinations that would do nothing (a soak that never reloads, a bench whose every case is
/// skipped, options that change nothing for what is asked, no report in a training run, no step to run, no check to
/// verify) are errors (run's --steps 0: RunCommandTests): exit 2, one line naming the options, nothing written.
module S3gd.Properties.Cli.NoOpTests

open System.IO
open Xunit
open S3gd.Properties.Cli.Temp

[<Theory>]
[<InlineData("soak --backend cpu --steps 10 --every 20", "--every 20 is not below --steps 10: the second run would never be reloaded")>]
[<InlineData("soak --backend cpu --steps 10 --every 10", "--every 10 is not below --steps 10")>]
[<InlineData("soak --backend cpu --param-update kahan", "--param-update kahan changes only bf16 parameters")>]
[<InlineData("soak --backend cpu --alternate", "--alternate reloads onto the CPU and back, but the backend is the CPU already")>]
[<InlineData("bench --backend cpu --rule stableadamw --state-dtype fp8e5m2", "nothing to time: stableadamw with state fp8e5m2: the structured step keeps fp32 or bf16 moments")>]
[<InlineData("bench --backend cpu --rule muon --state-dtype bf16", "--state-dtype changes nothing for --rule muon alone")>]
[<InlineData("bench --backend cpu --rule muon --no-gpt2", "--no-gpt2 changes nothing for --rule muon alone")>]
[<InlineData("bench --backend cpu --rule adamw --sizes , --no-gpt2", "no case to time")>]
[<InlineData("bench --backend cpu --rule adamw --layout s2", "--layout s2 is a structured layout (stableadamw, adam-mini), and neither is benchmarked")>]
[<InlineData("bench --backend cpu --rule adamw --layout tune", "--layout: the CPU backend has one layout")>]
[<InlineData("train --backend cpu --steps 10 --log-every 11", "--log-every 11 exceeds --steps 10: no loss would be reported")>]
let ``an option combination that would do nothing is an error and writes nothing`` (command: string, says: string) =
    use folder = new Folder()
    let out = folder.File "out"
    let code, stdout, stderr = FailureTests.s3gd None (List.ofArray (command.Split ' ') @ [ "--out"; out ])
    Assert.Equal(2, code)
    Assert.Equal("", stdout)
    Assert.StartsWith("s3gd: ", stderr)
    Assert.Contains(says, stderr)
    Assert.Equal(1, stderr.TrimEnd('\n').Split('\n').Length)
    Assert.Empty(Directory.GetFileSystemEntries folder.Path)

[<Fact>]
let ``verify with a --check that names no check is an error`` () =
    let code, _, stderr = FailureTests.s3gd None [ "verify"; "--backend"; "cpu"; "--check"; "no such check" ]
    Assert.Equal(2, code)
    Assert.Equal("s3gd: --check no such check: no check of the cpu backend has such a name\n", stderr)
