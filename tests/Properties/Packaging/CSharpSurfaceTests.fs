/// S3gd.Gpu's public surface is C#: no public (nor protected, on an unsealed public type) signature mentions a type of
/// FSharp.Core or an F# union or record (S3gd.Spec's Hypers, HyperValue, RuleInfo, StorageFormat...), down through
/// element types and generic arguments. An F# caller converts at its side; a C# caller never meets an F# type.
module S3gd.Properties.Packaging.CSharpSurfaceTests

open System
open System.Collections.Generic
open System.Reflection
open Microsoft.FSharp.Core
open Xunit
open S3gd.Spec.Formats
open S3gd.Spec.Rules
open S3gd.Gpu
open S3gd.Gpu.Cpu
open S3gd.Gpu.Elementwise
open S3gd.Gpu.Structured
open S3gd.Gpu.Optimizers

/// Whether a type is F#'s own: from FSharp.Core, or an F# union or record (its CompilationMapping says so).
let private isFSharp (t: Type) =
    t.Assembly = typeof<FSharpFunc<int, int>>.Assembly
    || (t.GetCustomAttributes<CompilationMappingAttribute>()
        |> Seq.exists (fun a ->
            let kind = a.SourceConstructFlags &&& SourceConstructFlags.KindMask
            kind = SourceConstructFlags.SumType || kind = SourceConstructFlags.RecordType))

/// The F# types a signature's type mentions: itself, its element type and its generic arguments, recursively.
let rec private fsharpIn (t: Type) : Type list =
    if isNull t || t.IsGenericParameter then []
    elif t.HasElementType then fsharpIn (t.GetElementType())
    elif t.IsGenericType && not t.IsGenericTypeDefinition then
        fsharpIn (t.GetGenericTypeDefinition()) @ (t.GetGenericArguments() |> List.ofArray |> List.collect fsharpIn)
    elif isFSharp t then [ t ]
    else []

/// Whether a caller outside the assembly sees a member: public, or protected on a type it can derive from.
let private visible (declaring: Type) (isPublic: bool) (isFamily: bool) (isFamilyOrAssembly: bool) =
    isPublic || (not declaring.IsSealed && (isFamily || isFamilyOrAssembly))

/// Every signature of an exported type, as (where, type it mentions).
let private signatures (t: Type) : (string * Type) list =
    let flags = BindingFlags.Public ||| BindingFlags.NonPublic ||| BindingFlags.Instance ||| BindingFlags.Static ||| BindingFlags.DeclaredOnly
    let parameters (name: string) (ps: ParameterInfo[]) = ps |> Array.map (fun p -> sprintf "%s(%s)" name p.Name, p.ParameterType) |> List.ofArray
    let typeParameters (name: string) (args: Type[]) =
        args |> Array.filter (fun a -> a.IsGenericParameter) |> Array.collect (fun a -> a.GetGenericParameterConstraints() |> Array.map (fun c -> sprintf "%s<%s>" name a.Name, c)) |> List.ofArray
    [ if not (isNull t.BaseType) then yield "base type", t.BaseType
      for i in t.GetInterfaces() do yield "interface", i
      yield! typeParameters "type" (t.GetGenericArguments())
      for c in t.GetConstructors flags do
          if visible t c.IsPublic c.IsFamily c.IsFamilyOrAssembly then yield! parameters "constructor" (c.GetParameters())
      // Property and event accessors are their properties' and events' signatures, below.
      for m in t.GetMethods flags do
          if visible t m.IsPublic m.IsFamily m.IsFamilyOrAssembly && not (m.IsSpecialName && not (m.Name.StartsWith "op_")) then
              yield sprintf "%s returns" m.Name, m.ReturnType
              yield! parameters m.Name (m.GetParameters())
              yield! typeParameters m.Name (m.GetGenericArguments())
      for p in t.GetProperties flags do
          if p.GetAccessors true |> Array.exists (fun a -> visible t a.IsPublic a.IsFamily a.IsFamilyOrAssembly) then
              yield p.Name, p.PropertyType
              yield! parameters p.Name (p.GetIndexParameters())
      for f in t.GetFields flags do
          if visible t f.IsPublic f.IsFamily f.IsFamilyOrAssembly then yield f.Name, f.FieldType
      for e in t.GetEvents flags do
          let add = e.GetAddMethod true
          if not (isNull add) && visible t add.IsPublic add.IsFamily add.IsFamilyOrAssembly then yield e.Name, e.EventHandlerType ]

/// Every exported type's signatures that mention an F# type, one line each.
let offending (assembly: Assembly) =
    [ for t in assembly.GetExportedTypes() do
          for where, mentioned in signatures t do
              for f in fsharpIn mentioned do
                  yield sprintf "%s %s: %s" t.FullName where f.FullName ]
    |> List.distinct

[<Fact>]
let ``no public signature of S3gd.Gpu mentions an F# type`` () =
    let found = offending typeof<ElementType>.Assembly
    Assert.True(List.isEmpty found, sprintf "%d public signatures of S3gd.Gpu mention F# types:\n%s" found.Length (String.Join("\n", found)))

[<Fact>]
let ``the scan finds an F# type where one is`` () =
    Assert.NotEmpty(offending typeof<RuleInfo>.Assembly)

/// The spec-typed form of a configuration's description, rule maths and values, to compare the C#-typed form with.
let private described (text: string) (ruleType: Type) (hypers: IReadOnlyDictionary<string, obj>) =
    text, ruleType, hypers |> Seq.map (fun kv -> kv.Key, kv.Value) |> Map.ofSeq

[<Fact>]
let ``the C#-typed config constructors make the spec-typed configurations`` () =
    for name in ElementwiseRules.ByName.Keys do
        let csharp = ElementwiseConfig(name)
        let spec = ElementwiseConfig(Registry.all |> List.find (fun r -> r.Name = name), Map.empty)
        Assert.Equal(described (string spec) spec.RuleType spec.Hypers, described (string csharp) csharp.RuleType csharp.Hypers)
    let csharp =
        ElementwiseConfig("adamw", readOnlyDict [ "weight_decay", box 0.0; "amsgrad", box true ], param = ElementType.BFloat16,
                          states = [| StateFormat.Bf16 |], paramUpdate = ParamUpdate.Kahan)
    let spec = ElementwiseConfig(AdamW.info, Map [ "weight_decay", Real 0.0; "amsgrad", Flag true ], param = Bf16, states = [| StateFormat.Bf16 |], paramUpdate = ParamUpdate.Kahan)
    Assert.Equal(described (string spec) spec.RuleType spec.Hypers, described (string csharp) csharp.RuleType csharp.Hypers)
    let csharp = StructuredConfig("stableadamw", readOnlyDict [ "kahan_sum", box true ], param = ElementType.BFloat16, moment = ElementType.BFloat16)
    let spec = StructuredConfig(StableAdamW.info, Map [ "kahan_sum", Flag true ], param = Bf16, moment = Bf16)
    Assert.Equal(described (string spec) spec.RuleType spec.Hypers, described (string csharp) csharp.RuleType csharp.Hypers)
    let csharp = StructuredConfig("adam-mini", moment = ElementType.Fp8E4M3)
    Assert.True(csharp.MomentIsFp8)
    Assert.Throws<ArgumentException>(fun () -> ElementwiseConfig("nosuchrule") |> ignore) |> ignore
    Assert.Throws<ArgumentException>(fun () -> ElementwiseConfig("adamw", readOnlyDict [ "lr", box 1.0f ]) |> ignore) |> ignore

[<Fact>]
let ``a param group's overrides and its resolved hyperparameters are C# values`` () =
    use cpu = new CpuBackend()
    use w = Parameter.Allocate(cpu, "w", [| 4; 4 |])
    use b = Parameter.Allocate(cpu, "b", [| 4 |])
    use opt = new AdamW([ ParamGroup([ w ]); ParamGroup([ b ]).With("weight_decay", 0.0).With("amsgrad", true) ], lr = 0.1)
    Assert.Equal<obj>(box 0.0, opt.Groups[1].Source.Overrides["weight_decay"])
    Assert.Equal<obj>(box 1e-2, opt.Groups[0].Hypers["weight_decay"])
    Assert.Equal(0.0, opt.Groups[1].Hypers.Real "weight_decay")
    Assert.True(opt.Groups[1].Hypers.Flag "amsgrad")
    Assert.Equal(0.1, opt.Groups[1].Hypers.Real "lr")
    use muon = OptimizerCatalog.Create("muon", [ ParamGroup([ w ]).With("ns_coefficients", "cubic").With("ns_steps", 3) ])
    Assert.Equal("cubic", muon.Groups[0].Hypers.Word "ns_coefficients")
    Assert.Equal<obj>(box 3, muon.Groups[0].Hypers["ns_steps"])
