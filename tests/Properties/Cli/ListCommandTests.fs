/// `s3gd list`: every registered rule appears with its summary, reference and every hyperparameter's
/// default and range.
module S3gd.Properties.Cli.ListCommandTests

open System.IO
open Spectre.Console
open Xunit
open S3gd.Spec.Rules
open S3gd.Cli

/// What `list` prints, on a console wide enough that no cell wraps.
let private render (namesOnly: bool) =
    use writer = new StringWriter()
    let console = AnsiConsole.Create(AnsiConsoleSettings(Out = AnsiConsoleOutput writer, Ansi = AnsiSupport.No))
    // Width in characters: wider than any summary or table row, so every text appears unbroken.
    console.Profile.Width <- 400
    ListCommand.write console namesOnly Registry.all
    writer.ToString()

[<Fact>]
let ``every rule is listed with its summary, reference and hyperparameters`` () =
    let text = render false
    for rule in Registry.all do
        Assert.Contains(rule.Name + ": " + rule.Summary, text)
        Assert.Contains(rule.Reference, text)
        for d in rule.Hypers do
            for cell in [ d.Name; Hyper.show d.Default; d.Range; d.Doc ] do
                Assert.Contains(cell, text)

[<Fact>]
let ``--names prints the rule names one a line`` () =
    let lines = (render true).Split('\n', System.StringSplitOptions.RemoveEmptyEntries) |> Array.map (fun l -> l.TrimEnd())
    Assert.Equal<string[]>(Registry.all |> List.map (fun r -> r.Name) |> List.toArray, lines)
