namespace S3gd.Gpu.Muon;

/// <summary>The buffers of a group's Newton–Schulz iterations (bf16 or float32, <see cref="NsPrecision"/>): two of the matrices, two of their Gram matrices.</summary>
public enum NsBuffer
{
    /// <summary>The normalised input, then every other iterate.</summary>
    X,
    /// <summary>The other iterate.</summary>
    Next,
    /// <summary>A = X X^T.</summary>
    Gram,
    /// <summary>B = b A + c A A.</summary>
    Poly,
}

/// <summary>One operation of a schedule.</summary>
public abstract record NsOp;

/// <summary>
/// A strided-batched GEMM with cuBLAS's column-major semantics: for each matrix, C = Alpha op(A) op(B) + Beta C, op(A)
/// M x K, op(B) K x N, C M x N, each operand <c>Stride</c> elements after the previous matrix's, rounded once to the
/// work matrices' element type.
/// </summary>
public sealed record NsGemm(
    bool TransposeA, bool TransposeB, int M, int N, int K, float Alpha, NsBuffer A, int Lda, long StrideA,
    NsBuffer B, int Ldb, long StrideB, float Beta, NsBuffer C, int Ldc, long StrideC) : NsOp;

/// <summary>Copies the first <paramref name="Elements"/> elements of one buffer into another.</summary>
public sealed record NsCopy(NsBuffer From, NsBuffer To, long Elements) : NsOp;

/// <summary>
/// The Newton–Schulz iterations of a group of same-shape matrices as GEMMs and copies, what the CUDA backend hands cuBLAS.
/// Row-major to column-major: a row-major r x c matrix is the column-major c x r matrix of its transpose. The matrices stay
/// in the parameter's row-major layout; with the wide orientation X (m x n, m the short side), a wide parameter's memory is
/// column-major X^T (ld n) and a tall one's is column-major X (ld m), so the transpose trick is only operand flags.
/// Per iteration, as torch (each alpha/beta sum rounded once to the element type, like torch.addmm):
///   A = X X^T (m x m);  B = c A A + b A (B starts as a copy of A: cuBLAS's C is both input and output);
///   X' = a X + B X (X' starts as a copy of X) — wide: X'^T = X^T B^T + a X^T; tall: X' = B X + a X.
/// </summary>
public static class NsSchedule
{
    /// <summary>The operations of <paramref name="config"/>'s iterations over <paramref name="group"/>, and the buffer holding the result.</summary>
    public static (IReadOnlyList<NsOp> Ops, NsBuffer Result) For(MuonGroup group, MuonConfig config)
    {
        ArgumentNullException.ThrowIfNull(group);
        ArgumentNullException.ThrowIfNull(config);
        var (m, n, count) = (group.Short, group.Long, group.Indices.Count);
        long xStride = (long)m * n, aStride = (long)m * m;
        var (a, b, c) = ((float)config.A, (float)config.B, (float)config.C);
        var ops = new List<NsOp>();
        var (current, following) = (NsBuffer.X, NsBuffer.Next);
        for (var step = 0; step < config.NsSteps; step++)
        {
            // A = X X^T: wide memory is X^T (ld n), so A = (X^T)^T X^T; tall memory is X (ld m), so A = X X^T.
            ops.Add(group.Tall
                ? new NsGemm(false, true, m, m, n, 1.0f, current, m, xStride, current, m, xStride, 0.0f, NsBuffer.Gram, m, aStride)
                : new NsGemm(true, false, m, m, n, 1.0f, current, n, xStride, current, n, xStride, 0.0f, NsBuffer.Gram, m, aStride));
            ops.Add(new NsCopy(NsBuffer.Gram, NsBuffer.Poly, aStride * count));
            ops.Add(new NsGemm(false, false, m, m, m, c, NsBuffer.Gram, m, aStride, NsBuffer.Gram, m, aStride, b, NsBuffer.Poly, m, aStride));
            ops.Add(new NsCopy(current, following, xStride * count));
            ops.Add(group.Tall
                ? new NsGemm(false, false, m, n, m, 1.0f, NsBuffer.Poly, m, aStride, current, m, xStride, a, following, m, xStride)
                : new NsGemm(false, true, n, m, m, 1.0f, current, n, xStride, NsBuffer.Poly, m, aStride, a, following, n, xStride));
            (current, following) = (following, current);
        }
        return (ops, current);
    }
}
