/// OAdamW's grouping host function and matrix-path keys against the spec (S3gd.Spec.Rules.OAdamW).
module S3gd.Properties.Muon.OAdamWGroupsTests

open System
open Xunit
open S3gd.Spec.Rules
open S3gd.Gpu.Muon

let private shapes (xs: int list list) : Collections.Generic.IReadOnlyList<Collections.Generic.IReadOnlyList<int>> =
    xs |> List.map (fun s -> (List.toArray s :> Collections.Generic.IReadOnlyList<int>)) |> List.toArray :> _

[<Fact>]
let ``2-D and larger parameters take the Newton-Schulz path as shape0 x the rest, as the spec's isMatrix`` () =
    let list = [ [ 768 ]; [ 2304; 768 ]; []; [ 64; 3; 3; 3 ]; [ 1; 1 ]; [ 10 ] ]
    let split = OAdamWGroups.Split(shapes list)
    Assert.Equal<OAdamWMatrix list>([ OAdamWMatrix(1, 2304, 768); OAdamWMatrix(3, 64, 27); OAdamWMatrix(4, 1, 1) ], List.ofSeq split.Matrices)
    Assert.Equal<int list>([ 0; 2; 5 ], List.ofSeq split.Others)
    for i, s in List.indexed list do
        Assert.Equal(OAdamW.isMatrix s, split.Matrices |> Seq.exists (fun m -> m.Index = i))

[<Fact>]
let ``a dimension below one is an error naming the parameter and its shape`` () =
    let e = Assert.Throws<ArgumentException>(fun () -> OAdamWGroups.Split(shapes [ [ 3; 4 ]; [ 5; 0 ] ]) |> ignore)
    Assert.Contains("shapes[1] is [5, 0]", e.Message)

[<Fact>]
let ``the gradient is orthogonalised afresh exactly where the spec's step does`` () =
    let rnd = Random 3
    let shape = [ 2; 3 ]
    for gap in [ 2; 3; 4 ] do
        let h = { OAdamW.defaults with UpdateProjGap = gap }
        let config = OAdamWMatrixConfig(UpdateProjGap = gap)
        let mutable state = OAdamW.init h 6
        let mutable p = MathNet.Numerics.LinearAlgebra.Vector<float>.Build.Dense(6, 0.5)
        for t in 1..9 do
            let g = MathNet.Numerics.LinearAlgebra.Vector<float>.Build.Dense(6, fun _ -> rnd.NextDouble() - 0.5)
            let p', s' = OAdamW.step h shape state g p
            // The spec caches what it used: a fresh projection is this step's gradient's.
            let fresh = s'.NsCache = Some(OAdamW.project h shape g)
            Assert.Equal(fresh, config.Projects(t, state.NsCache.IsSome))
            state <- s'
            p <- p'
    Assert.True(OAdamWMatrixConfig(UpdateProjGap = 1).Projects(4, true))

[<Fact>]
let ``bad matrix-path keys are errors naming them and the value`` () =
    let check (config: OAdamWMatrixConfig) (name: string) (value: string) =
        let e = Assert.Throws<ArgumentOutOfRangeException>(fun () -> config.Validated() |> ignore)
        Assert.Equal(name, e.ParamName)
        Assert.Contains(value, e.Message)
    check (OAdamWMatrixConfig(NsSteps = 0)) "NsSteps" "0"
    check (OAdamWMatrixConfig(UpdateProjGap = -2)) "UpdateProjGap" "-2"
    check (OAdamWMatrixConfig(Scale = 0.0)) "Scale" "0"
    Assert.Equal(OAdamW.defaults.NsSteps, OAdamWMatrixConfig().NsSteps)
    Assert.Equal(OAdamW.defaults.UpdateProjGap, OAdamWMatrixConfig().UpdateProjGap)
    Assert.Equal(OAdamW.defaults.Scale, OAdamWMatrixConfig().Scale)

[<Fact>]
let ``the projection plan rejects wrong lengths and repeated buffers, and recomputes only at the gap`` () =
    use cpu = new S3gd.Gpu.Cpu.CpuBackend()
    let f (n: int) = cpu.AllocateMuonMomentum(int64 n)
    let config = OAdamWMatrixConfig(UpdateProjGap = 2, Scale = 2.0)
    let e = Assert.ThrowsAny<ArgumentException>(fun () -> cpu.PlanOAdamWProjection(config, [| OAdamWProjection(f 6, f 5, 2, 3) |]) |> ignore)
    Assert.Contains("tensors[0].Output has 5 elements", e.Message)
    let g = f 6
    let e = Assert.ThrowsAny<ArgumentException>(fun () -> cpu.PlanOAdamWProjection(config, [| OAdamWProjection(g, g, 2, 3) |]) |> ignore)
    Assert.Contains("tensors[0].Output is a buffer given twice", e.Message)
    cpu.Upload<float32>(g, ReadOnlySpan [| 1.0f; 0.0f; 0.0f; 0.0f; 1.0f; 0.0f |])
    let out = f 6
    use plan = cpu.PlanOAdamWProjection(config, [| OAdamWProjection(g, out, 2, 3) |])
    Assert.Equal<bool list>([ true; true; false; true ], [ for t in 1..4 -> plan.Step t ])
    // Orthonormal rows: NS leaves them near the quintic's fixed band; scale 2 doubles them, zeros stay zero.
    let o = cpu.Download<float32> out
    Assert.InRange(o[0], 2.0f * 0.6f, 2.0f * 1.2f)
    Assert.Equal(0.0f, o[1])
