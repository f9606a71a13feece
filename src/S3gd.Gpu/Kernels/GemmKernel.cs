using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using ILGPU;
using S3gd.Gpu.Maths;

namespace S3gd.Gpu.Kernels;

/// <summary>A strided-batched GEMM's arguments (<see cref="GemmKernel.Gemm"/>), cuBLAS's column-major conventions.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct GemmArgs
{
    /// <summary>Address of the first A.</summary>
    public ulong A;
    /// <summary>Address of the first B.</summary>
    public ulong B;
    /// <summary>Address of the first C.</summary>
    public ulong C;
    /// <summary>Elements between consecutive A.</summary>
    public long StrideA;
    /// <summary>Elements between consecutive B.</summary>
    public long StrideB;
    /// <summary>Elements between consecutive C.</summary>
    public long StrideC;
    /// <summary>Rows of op(A) and C.</summary>
    public int M;
    /// <summary>Columns of op(B) and C.</summary>
    public int N;
    /// <summary>Columns of op(A), rows of op(B).</summary>
    public int K;
    /// <summary>A's leading dimension.</summary>
    public int Lda;
    /// <summary>B's leading dimension.</summary>
    public int Ldb;
    /// <summary>C's leading dimension.</summary>
    public int Ldc;
    /// <summary>The product's factor.</summary>
    public float Alpha;
    /// <summary>C's factor (0: C is not read, as in cuBLAS).</summary>
    public float Beta;
}

/// <summary>How a GEMM operand is read: element (row, col) of op(X) in column-major storage with leading dimension ld.</summary>
public interface IGemmOperand
{
    /// <summary>The element index of op(X)[row, col].</summary>
    long Index(int row, int col, int ld);
}

/// <summary>op(X) = X.</summary>
public readonly struct AsStored : IGemmOperand
{
    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public long Index(int row, int col, int ld) => row + (long)col * ld;
}

/// <summary>op(X) = X^T.</summary>
public readonly struct Transposed : IGemmOperand
{
    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public long Index(int row, int col, int ld) => col + (long)row * ld;
}

/// <summary>
/// The Newton–Schulz matrix products where no BLAS is at hand (ILGPU's CPU accelerator): cuBLAS's
/// <c>cublasGemmStridedBatchedEx</c> with operands and results of the work type (bf16 or float32) and float32 compute.
/// For each matrix (Grid.IdxY) and element (i, j) of C (a grid-stride loop), the float32 sum over k ascending of the
/// products (fused multiply-adds; exact for bf16 operands), then alpha * sum + beta * C (each product rounded to
/// float32), rounded as the work type holds it: in bf16 the spec's bf16 model of torch's products. The summation order
/// is not cuBLAS's, so the results may differ from it by roundings (which the Newton–Schulz conformance bounds allow),
/// not by more.
/// </summary>
public static class GemmKernel
{
    /// <summary>Threads per block.</summary>
    public const int Threads = 256;

    /// <summary>C[i, j] = round(alpha op(A)[i, :] op(B)[:, j] + beta C[i, j]) for every matrix of the batch, as TWork holds it.</summary>
    public static void Gemm<TOps, M, TA, TB, TWork>(ArrayView<byte> memory, GemmArgs args)
        where TOps : struct, IKernelOps
        where M : struct, IMaths<float>
        where TA : struct, IGemmOperand
        where TB : struct, IGemmOperand
        where TWork : struct, INsWork
    {
        M m = default;
        TWork work = default;
        var batch = Grid.IdxY;
        var a = args.A + (ulong)(batch * args.StrideA * work.Size);
        var b = args.B + (ulong)(batch * args.StrideB * work.Size);
        var c = args.C + (ulong)(batch * args.StrideC * work.Size);
        var elements = (long)args.M * args.N;
        for (var e = (long)Grid.IdxX * Group.DimX + Group.IdxX; e < elements; e += (long)Grid.DimX * Group.DimX)
        {
            var i = (int)(e % args.M);
            var j = (int)(e / args.M);
            var sum = 0.0f;
            for (var k = 0; k < args.K; k++)
                sum = m.Madd(work.Read(memory, a, default(TA).Index(i, k, args.Lda)), work.Read(memory, b, default(TB).Index(k, j, args.Ldb)), sum);
            var at = i + (long)j * args.Ldc;
            var scaled = m.Mul(args.Alpha, sum);
            var result = args.Beta == 0.0f ? scaled : m.Add(scaled, m.Mul(args.Beta, work.Read(memory, c, at)));
            work.Write<TOps>(memory, c, at, result);
        }
    }
}
