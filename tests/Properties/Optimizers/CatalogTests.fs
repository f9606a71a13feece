/// The one registration of every rule (OptimizerCatalog): the spec's rules (each spec module that defines `info`) and
/// the catalog's entries are the same, each registered once, the elementwise ones with their definition.
module S3gd.Properties.Optimizers.CatalogTests

open Xunit
open S3gd.Spec.Rules
open S3gd.Gpu.Elementwise
open S3gd.Gpu.Optimizers

[<Fact>]
let ``every spec rule is registered once in the catalog, with the spec module's own entry`` () =
    let names = OptimizerCatalog.Rules |> Seq.map (fun e -> e.Name) |> List.ofSeq
    Assert.Equal<string list>(List.distinct names, names)
    Assert.Equal<string list>(Registry.all |> List.map (fun r -> r.Name), List.sort names)
    for r in Registry.all do
        Assert.Same(r, OptimizerCatalog.Entries[r.Name].Spec)

[<Fact>]
let ``exactly the elementwise entries have a definition, and the elementwise rules are theirs`` () =
    for e in OptimizerCatalog.Rules do
        Assert.Equal((e.Family = RuleFamily.Elementwise), not (isNull (box e.Elementwise)))
    Assert.Equal<string list>(
        OptimizerCatalog.Family RuleFamily.Elementwise |> List.ofSeq |> List.sort, ElementwiseRules.ByName.Keys |> List.ofSeq |> List.sort)
    for KeyValue(name, definition) in ElementwiseRules.ByName do
        Assert.Same(definition, OptimizerCatalog.Entries[name].Elementwise)

[<Fact>]
let ``each entry's optimizer class steps that rule`` () =
    use cpu = new S3gd.Gpu.Cpu.CpuBackend()
    for e in OptimizerCatalog.Rules do
        use p = Parameter.Allocate(cpu, "w", [| 4; 4 |], S3gd.Gpu.ElementType.Float32, S3gd.Gpu.ElementType.Float32)
        use opt = e.Create.Invoke [ ParamGroup([ p ]) ]
        Assert.Equal(e.Name, opt.Rule.Name)
