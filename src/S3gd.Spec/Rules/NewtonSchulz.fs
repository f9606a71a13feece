/// Newton–Schulz orthogonalisation as torch.optim.Muon's `_zeropower_via_newtonschulz`
/// (pytorch/pytorch torch/optim/_muon.py, PyTorch 2.11):
///   X = G (transposed when rows > cols);  X <- X / max(||X||_F, eps);
///   repeat ns_steps:  A = X X^T;  B = b*A + c*A A;  X = a*X + B X;   transpose back.
/// Two variants: `float64` (every operation exact to float64), and `bf16`, which models torch's run in
/// bfloat16 on the CPU: G is rounded to bf16; the norm accumulates the squares in float32 and its
/// square root is rounded to bf16; the division is done in float32 and rounded to bf16; every matrix
/// product accumulates bf16 operands in float32, and torch.addmm's scaled sum (alpha*product + beta*C,
/// scalars as float32) is formed in float32 and rounded to bf16 once, as PyTorch 2.11 does
/// (`gram_update = addmm(A, A, A, beta=b, alpha=c)`, `X = addmm(X, B, X, beta=a)`). The model reproduces
/// torch's output bit for bit on the golden Muon cases (tests/Properties/Golden/muon*/ns.npy).
module S3gd.Spec.Rules.NewtonSchulz

open MathNet.Numerics.LinearAlgebra
open S3gd.Spec.Formats

/// The coefficients (a, b, c) of the iteration X <- a*X + (b*A + c*A A) X.
type Coefficients = { A: float; B: float; C: float }

/// How the input is normalised before iterating.
type Normalise =
    /// X / max(||X||_F, eps): torch.optim.Muon.
    | MaxEps
    /// X / (||X||_F + eps): OAdamW's MuonProjector and Keller Jordan's Muon.
    | AddEps

/// The arithmetic the iteration runs in.
type Precision =
    /// Exact float64 arithmetic.
    | Float64
    /// bfloat16 storage with float32 accumulation, as torch on the CPU (see the module doc).
    | Bf16

/// Keller Jordan's quintic, torch.optim.Muon's default: maximal slope at zero, singular values land in about [0.68, 1.13].
let quintic = { A = 3.4445; B = -4.7750; C = 2.0315 }

/// The classic cubic Newton–Schulz step X <- 1.5 X - 0.5 X X^T X: converges to exactly 1, slowly from small values.
let cubic = { A = 1.5; B = -0.5; C = 0.0 }

/// The coefficient sets by the name the `ns_coefficients` hyperparameter takes.
let coefficientSets = [ "quintic", quintic; "cubic", cubic ]

/// The iteration in float64: one polynomial step per `steps`, on the wide orientation.
let private iterate64 (k: Coefficients) (steps: int) (x0: Matrix<float>) =
    let step (x: Matrix<float>) =
        let a = x * x.Transpose()
        let b = k.B * a + k.C * (a * a)
        k.A * x + b * x
    Seq.fold (fun x _ -> step x) x0 (seq { 1..steps })

/// A float32 result rounded to bf16 (what a bf16 kernel stores from its float32 arithmetic).
let private bf (x: float32) : float32 = Bf16.decode32 (Bf16.encode32 x)

/// alpha*(X Y) + beta*C with bf16 operands, float32 accumulation and one bf16 rounding (torch.addmm on bf16).
let private addmmBf16 (alpha: float32) (x: float32[,]) (y: float32[,]) (beta: float32) (c: float32[,] option) =
    let n, k, m = Array2D.length1 x, Array2D.length2 x, Array2D.length2 y
    Array2D.init n m (fun i j ->
        let mutable acc = 0.0f
        for l in 0 .. k - 1 do
            acc <- acc + x[i, l] * y[l, j]
        match c with
        | Some c -> bf (alpha * acc + beta * c[i, j])
        | None -> bf acc)

/// The iteration in modelled bf16 arithmetic (see the module doc), on the wide orientation, normalised as given.
let private iterateBf16 (k: Coefficients) (steps: int) (normalise: Normalise) (eps: float) (g: Matrix<float>) =
    // torch converts float64 to bf16 through float32 (c10::BFloat16 is constructed from a float).
    let x = Array2D.init g.RowCount g.ColumnCount (fun i j -> bf (float32 g[i, j]))
    let mutable sq = 0.0f
    x |> Array2D.iter (fun v -> sq <- sq + v * v)
    let norm = bf (sqrt sq)
    let denom =
        match normalise with
        | MaxEps -> max norm (bf (float32 eps))
        | AddEps -> bf (norm + float32 eps)
    let mutable x = x |> Array2D.map (fun v -> bf (v / denom))
    let transpose (m: float32[,]) = Array2D.init (Array2D.length2 m) (Array2D.length1 m) (fun i j -> m[j, i])
    for _ in 1..steps do
        let a = addmmBf16 1.0f x (transpose x) 0.0f None
        let b = addmmBf16 (float32 k.C) a a (float32 k.B) (Some a)
        x <- addmmBf16 1.0f b x (float32 k.A) (Some x)
    Matrix<float>.Build.DenseOfArray(Array2D.map float x)

/// NS(G): the approximately orthogonal factor of G after `steps` iterations, same shape as G.
let orthogonalize (precision: Precision) (normalise: Normalise) (k: Coefficients) (steps: int) (eps: float) (g: Matrix<float>) : Matrix<float> =
    if steps < 0 then invalidArg "steps" (sprintf "ns_steps must be >= 0, got %d" steps)
    let tall = g.RowCount > g.ColumnCount
    let x0 = if tall then g.Transpose() else g
    let x =
        match precision with
        | Float64 ->
            let norm = x0.FrobeniusNorm()
            let x0 = x0 / (match normalise with MaxEps -> max norm eps | AddEps -> norm + eps)
            iterate64 k steps x0
        | Bf16 -> iterateBf16 k steps normalise eps x0
    if tall then x.Transpose() else x

/// A row-major flat vector as a rows x cols matrix.
let toMatrix (rows: int) (cols: int) (v: Vec) : Matrix<float> = Matrix<float>.Build.Dense(rows, cols, fun i j -> v[i * cols + j])

/// A matrix flattened row-major.
let ofMatrix (m: Matrix<float>) : Vec = Vector<float>.Build.DenseOfArray(Array.init (m.RowCount * m.ColumnCount) (fun n -> m[n / m.ColumnCount, n % m.ColumnCount]))
