/// `s3gd list`: every registered rule with its summary, reference and hyperparameters (defaults and ranges).
module S3gd.Cli.ListCommand

open Argu
open Spectre.Console
open Spectre.Console.Rendering
open S3gd.Spec.Rules
open S3gd.Cli.Arguments

/// A table cell holding the text as it is (no markup).
let private cell (text: string) = Text text :> IRenderable

/// One table per rule: its hyperparameters with default, valid range and meaning.
let ruleTable (rule: RuleInfo) : Table =
    let table = Table()
    for column in [ "hyperparameter"; "default"; "valid"; "meaning" ] do
        table.AddColumn column |> ignore
    for d in rule.Hypers do
        table.AddRow [| cell d.Name; cell (Hyper.show d.Default); cell d.Range; cell d.Doc |] |> ignore
    for pair, first, second in rule.Pairs do
        table.AddRow [| cell pair; cell (sprintf "%s,%s" first second); cell "pair"; cell (sprintf "sets %s and %s at once" first second) |] |> ignore
    table

/// Writes every rule's table (or only the names) to the console.
let write (console: IAnsiConsole) (namesOnly: bool) (rules: RuleInfo list) =
    for rule in rules do
        if namesOnly then console.WriteLine rule.Name
        else
            // Heading and reference are plain lines, not a table title and caption: those wrap at the table's width.
            console.WriteLine(sprintf "%s: %s" rule.Name rule.Summary)
            console.WriteLine(sprintf "reference: %s" rule.Reference)
            console.Write(ruleTable rule)

/// The `list` command: exit code 0.
let command (args: ParseResults<ListArgs>) : int =
    write AnsiConsole.Console (args.Contains Names) Registry.all
    0
