// The spec's `Hypers` abbreviation (an F# map of hyperparameter values by name), as C# sees it.
global using Hypers = Microsoft.FSharp.Collections.FSharpMap<string, S3gd.Spec.Rules.HyperValue>;
