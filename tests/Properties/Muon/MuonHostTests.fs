/// Muon's host pieces: the configuration's checks, grouping by shape, the plan's argument errors, the learning-rate
/// adjustment against the spec, the CPU backend's Newton–Schulz (orthogonalising, transpose-consistent) and the bench row.
module S3gd.Properties.Muon.MuonHostTests

open System
open Xunit
open MathNet.Numerics.LinearAlgebra
open S3gd.Spec.Rules
open S3gd.Gpu
open S3gd.Gpu.Cpu
open S3gd.Gpu.Muon
open S3gd.Cli

[<Fact>]
let ``a bad configuration value is an error naming it and the value`` () =
    let check (config: MuonConfig) (name: string) (value: string) =
        let e = Assert.Throws<ArgumentOutOfRangeException>(fun () -> config.Validated() |> ignore)
        Assert.Equal(name, e.ParamName)
        Assert.Contains(value, e.Message)
    check (MuonConfig(NsSteps = 0)) "NsSteps" "0"
    check (MuonConfig(NsSteps = 100)) "NsSteps" "100"
    check (MuonConfig(Lr = -0.5)) "Lr" "-0.5"
    check (MuonConfig(Eps = 0.0)) "Eps" "0"
    check (MuonConfig(Momentum = nan)) "Momentum" "NaN"

[<Fact>]
let ``matrices are grouped by shape in order of first appearance`` () =
    use cpu = new CpuBackend()
    let tensor (r: int, c: int) =
        MuonTensor(cpu.AllocateMuonMomentum(int64 (r * c)), cpu.AllocateMuonMomentum(int64 (r * c)), cpu.AllocateMuonMomentum(int64 (r * c)), r, c)
    let groups = MuonGroup.ByShape [| for s in [ 3, 4; 5, 2; 3, 4; 4, 3 ] -> tensor s |]
    Assert.Equal<(int * int * int list) list>(
        [ 3, 4, [ 0; 2 ]; 5, 2, [ 1 ]; 4, 3, [ 3 ] ], [ for g in groups -> g.Rows, g.Cols, List.ofSeq g.Indices ])
    Assert.Equal<bool list>([ false; true; true ], [ for g in groups -> g.Tall ])
    // 2 matrices of 3 x 4: 2 * (4 * 3^2 * 4 + 2 * 3^3).
    Assert.Equal(2.0 * (4.0 * 9.0 * 4.0 + 2.0 * 27.0), groups[0].FlopsPerIteration)
    Assert.Equal(2, groups[1].Short)
    Assert.Equal(5, groups[1].Long)

[<Fact>]
let ``the plan rejects wrong lengths, types, shapes and repeated buffers, naming the tensor`` () =
    use cpu = new CpuBackend()
    let f n = cpu.AllocateMuonMomentum(int64 n)
    let config = MuonConfig()
    let fails (tensors: MuonTensor[]) (text: string) =
        let e = Assert.ThrowsAny<ArgumentException>(fun () -> cpu.PlanMuon(config, tensors) |> ignore)
        Assert.Contains(text, e.Message)
    let good = MuonTensor(f 6, f 6, f 6, 2, 3)
    fails [| good; MuonTensor(f 6, f 5, f 6, 2, 3) |] "tensors[1].Grad has 5 elements"
    fails [| MuonTensor(cpu.Allocate(ElementType.BFloat16, 6L), f 6, f 6, 2, 3) |] "tensors[0].Param holds bf16"
    fails [| MuonTensor(f 0, f 0, f 0, 0, 3) |] "shape 0 x 3"
    fails [| good; MuonTensor(good.Param, f 6, f 6, 2, 3) |] "tensors[1].Param is a buffer given twice"
    Assert.Throws<ArgumentOutOfRangeException>(fun () -> cpu.PlanMuon(MuonConfig(NsSteps = 0), [| good |]) |> ignore) |> ignore

[<Fact>]
let ``the adjusted learning rate is the spec's for both rules and tall, wide and square shapes`` () =
    for adjust, name in [ MuonLrAdjust.Original, "original"; MuonLrAdjust.MatchRmsAdamW, "match_rms_adamw" ] do
        let config = MuonConfig(Lr = 0.02, AdjustLr = adjust)
        let h = { Muon.defaults with Lr = 0.02; AdjustLrFn = name }
        for rows, cols in [ 3072, 768; 768, 3072; 5, 5 ] do
            Assert.Equal(Muon.adjustLr h rows cols, config.AdjustedLr(0.02, rows, cols), 15)

/// One CPU Muon step from zero momentum (momentum 0, lr 1, no decay): the parameter becomes -lr' NS(g) in float32.
let private step (adjust: MuonLrAdjust) (rows: int) (cols: int) (g: float32[]) =
    use cpu = new CpuBackend()
    let config = MuonConfig(Momentum = 0.0, Nesterov = false, Lr = 1.0, WeightDecay = 0.0, AdjustLr = adjust)
    let n = int64 g.Length
    let grad = cpu.Allocate(ElementType.Float32, n)
    cpu.Upload<float32>(grad, ReadOnlySpan g)
    let t = MuonTensor(cpu.AllocateMuonMomentum n, grad, cpu.AllocateMuonMomentum n, rows, cols)
    (cpu.PlanMuon(config, [| t |])).Step()
    cpu.Download<float32> t.Param, config.AdjustedLr(1.0, rows, cols)

/// NS(g) as the CPU computed it, up to the float32 rounding of lr' NS(g).
let private orthogonalise (rows: int) (cols: int) (g: float32[]) =
    let p, adjusted = step MuonLrAdjust.Original rows cols g
    p |> Array.map (fun v -> -(float v) / adjusted)

[<Fact>]
let ``the CPU's five quintic steps put every singular value in the quintic's band`` () =
    let random = Random 7
    let rows, cols = 12, 30
    let g = Array.init (rows * cols) (fun _ -> float32 (random.NextDouble() * 2.0 - 1.0))
    let o = Matrix<float>.Build.Dense(rows, cols, fun i j -> (orthogonalise rows cols g)[i * cols + j])
    // Keller Jordan's quintic leaves singular values in about [0.68, 1.13] after five steps from a normalised matrix
    // whose smallest singular value is not tiny (a random 12 x 30 one's is about a quarter of the largest).
    for s in o.Svd().S do
        Assert.InRange(s, 0.6, 1.2)

[<Fact>]
let ``the CPU's Newton-Schulz of a tall matrix is the transpose of its transpose's, bit for bit`` () =
    let random = Random 11
    let rows, cols = 17, 6
    let g = Array.init (rows * cols) (fun _ -> float32 (random.NextDouble() * 2.0 - 1.0))
    let gt = Array.init (rows * cols) (fun k -> g[(k % rows) * cols + k / rows])
    // match_rms_adamw scales both shapes by the same 0.2 sqrt(17): equal NS values give equal parameters.
    let tall, _ = step MuonLrAdjust.MatchRmsAdamW rows cols g
    let wide, _ = step MuonLrAdjust.MatchRmsAdamW cols rows gt
    for i in 0 .. rows - 1 do
        for j in 0 .. cols - 1 do
            Assert.Equal(BitConverter.SingleToUInt32Bits wide[j * rows + i], BitConverter.SingleToUInt32Bits tall[i * cols + j])
    Assert.Contains(tall, fun v -> v <> 0.0f)

[<Fact>]
let ``a CPU Muon bench row counts the matrices, the shape groups and the Newton-Schulz FLOPs`` () =
    use cpu = new CpuBackend()
    let shapes = [ 8, 4; 4, 8; 8, 4 ]
    let r = MuonBench.measure cpu "tiny" shapes 3
    Assert.Equal(3, r.Matrices)
    Assert.Equal(2, r.Groups)
    Assert.Equal(96L, r.Params)
    // Per iteration, every matrix here has m = 4, n = 8: 4 m^2 n + 2 m^3 = 640; 3 matrices, 5 iterations.
    Assert.Equal(5.0 * 3.0 * 640.0, r.NsFlops)
    Assert.True(r.Ms > 0.0, sprintf "%g ms" r.Ms)
    Assert.Equal(48, MuonBench.gpt2Shapes.Length)

[<Fact>]
let ``the CPU Muon bench's default fits its budget: the steps after one warm-up step, or that step alone`` () =
    let minute = MuonBench.cpuBudget
    // A GPT-2 step of some 44 s on two cores: no second step fits, the warm-up step is the measurement.
    Assert.Equal(0, MuonBench.budgetSteps minute 44_000.0)
    Assert.Equal(2, MuonBench.budgetSteps minute 20_000.0)
    Assert.Equal(MuonBench.defaultIterations, MuonBench.budgetSteps minute 1.0)
    use cpu = new CpuBackend()
    let steps = ResizeArray()
    let r = MuonBench.measureWith cpu "tiny" [ 8, 4 ] (MuonBench.Budget System.TimeSpan.Zero) (fun k total -> steps.Add((k, total)))
    Assert.Equal(1, r.Timed)
    Assert.Equal<(int * int) list>([ 1, 1 ], List.ofSeq steps)
