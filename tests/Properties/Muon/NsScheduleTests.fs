/// The CUDA backend's Newton–Schulz schedule (NsSchedule: the GEMMs and copies it hands cuBLAS) run on the host with
/// cuBLAS's column-major semantics — bf16 operands, float32 accumulation in order, alpha/beta sums rounded to bf16 once —
/// must give the spec's bf16 model of torch bit for bit, for wide, tall and square groups of several matrices: this checks
/// the row-major to column-major mapping, the transpose trick and the strides without a GPU.
module S3gd.Properties.Muon.NsScheduleTests

open System
open System.Collections.Generic
open Xunit
open FsCheck
open FsCheck.FSharp
open FsCheck.Xunit
open MathNet.Numerics.LinearAlgebra
open S3gd.Spec.Formats
open S3gd.Spec.Rules
open S3gd.Gpu.Muon

let private bf (x: float32) = Bf16.decode32 (Bf16.encode32 x)

/// Runs the schedule over host buffers, as cuBLAS would over `count` matrices (beta = 0: C is not read).
let private execute (ops: IReadOnlyList<NsOp>) (buffers: Dictionary<NsBuffer, float32[]>) (count: int) =
    for op in ops do
        match op with
        | :? NsCopy as c -> Array.blit buffers[c.From] 0 buffers[c.To] 0 (int c.Elements)
        | :? NsGemm as g ->
            let a, b, c = buffers[g.A], buffers[g.B], buffers[g.C]
            let result = Array.copy c
            for batch in 0 .. count - 1 do
                let oa, ob, oc = int64 batch * g.StrideA, int64 batch * g.StrideB, int64 batch * g.StrideC
                // Column-major: element (row, col) of a matrix with leading dimension ld is at row + col * ld.
                let opA i l = if g.TransposeA then a[int (oa + int64 (l + i * g.Lda))] else a[int (oa + int64 (i + l * g.Lda))]
                let opB l j = if g.TransposeB then b[int (ob + int64 (j + l * g.Ldb))] else b[int (ob + int64 (l + j * g.Ldb))]
                for i in 0 .. g.M - 1 do
                    for j in 0 .. g.N - 1 do
                        let mutable acc = 0.0f
                        for l in 0 .. g.K - 1 do
                            acc <- acc + opA i l * opB l j
                        let at = int (oc + int64 (i + j * g.Ldc))
                        result[at] <- if g.Beta = 0.0f then bf (g.Alpha * acc) else bf (g.Alpha * acc + g.Beta * c[at])
            Array.blit result 0 c 0 c.Length
        | other -> failwithf "unknown operation %O" other

/// The spec's normalised bf16 input (wide orientation, summed in the spec's order), laid out as the parameter (row-major).
let private normalised (eps: float) (rows: int) (cols: int) (g: float[]) =
    let tall = rows > cols
    let m, n = min rows cols, max rows cols
    let wide i j = if tall then g[j * cols + i] else g[i * cols + j]
    let x = Array2D.init m n (fun i j -> bf (float32 (wide i j)))
    let mutable sq = 0.0f
    x |> Array2D.iter (fun v -> sq <- sq + v * v)
    let denominator = max (bf (sqrt sq)) (bf (float32 eps))
    Array.init (rows * cols) (fun k ->
        let r, c = k / cols, k % cols
        bf ((if tall then x[c, r] else x[r, c]) / denominator))

let private case =
    gen {
        let! rows = Gen.choose (1, 24)
        let! cols = Gen.choose (1, 24)
        let! count = Gen.choose (1, 3)
        let! steps = Gen.choose (1, 5)
        let! cubic = Gen.elements [ false; true ]
        let! values = Gen.arrayOfLength (count * rows * cols) (Gen.choose (-1_000_000, 1_000_000) |> Gen.map (fun k -> float k / 1e6))
        return rows, cols, count, steps, cubic, values
    }

[<Property(MaxTest = 40)>]
let ``the CUDA schedule run with cuBLAS's semantics is the spec's bf16 Newton-Schulz, bit for bit`` () =
    let property (rows: int, cols: int, count: int, steps: int, cubic: bool, values: float[]) =
        let k = if cubic then NewtonSchulz.cubic else NewtonSchulz.quintic
        let config = MuonConfig(NsSteps = steps, A = k.A, B = k.B, C = k.C)
        let group = MuonGroup(rows, cols, Array.init count id)
        let n = rows * cols
        let matrices = Array.init count (fun t -> values[t * n .. t * n + n - 1])
        let x = Array.concat [ for g in matrices -> normalised config.Eps rows cols g ]
        let m = group.Short
        let buffers = Dictionary<NsBuffer, float32[]>()
        buffers[NsBuffer.X] <- x
        buffers[NsBuffer.Next] <- Array.zeroCreate x.Length
        buffers[NsBuffer.Gram] <- Array.zeroCreate (count * m * m)
        buffers[NsBuffer.Poly] <- Array.zeroCreate (count * m * m)
        let struct (ops, result) = NsSchedule.For(group, config)
        execute ops buffers count
        let mismatches =
            [ for t in 0 .. count - 1 do
                  let spec =
                      NewtonSchulz.orthogonalize NewtonSchulz.Bf16 NewtonSchulz.MaxEps k steps config.Eps
                          (Matrix<float>.Build.Dense(rows, cols, fun i j -> matrices[t][i * cols + j]))
                  for i in 0 .. rows - 1 do
                      for j in 0 .. cols - 1 do
                          let ours = buffers[result][t * n + i * cols + j]
                          if BitConverter.DoubleToInt64Bits(float ours) <> BitConverter.DoubleToInt64Bits spec[i, j] then
                              yield sprintf "matrix %d of %d x %d, [%d, %d]: schedule %g, spec %g" t rows cols i j ours spec[i, j] ]
        List.isEmpty mismatches |> Prop.label (sprintf "%d steps, %s: %s" steps (if cubic then "cubic" else "quintic") (String.Join("; ", List.truncate 3 mismatches)))
    Prop.forAll (Arb.fromGen case) property

[<Fact>]
let ``the schedule has five operations per iteration and ends in X after an even count`` () =
    let group = MuonGroup(3072, 768, [| 0; 1 |])
    let struct (ops, result) = NsSchedule.For(group, MuonConfig(NsSteps = 4))
    Assert.Equal(20, ops.Count)
    Assert.Equal(NsBuffer.X, result)
    let struct (_, odd) = NsSchedule.For(group, MuonConfig(NsSteps = 5))
    Assert.Equal(NsBuffer.Next, odd)
