using System.Runtime.CompilerServices;

namespace S3gd.Gpu.Kernels;

/// <summary>
/// The remainder of a non-negative index by a power of two, as a mask: for a signed <c>%</c>, even by a constant, ptxas
/// calls a subroutine of some 60 instructions (64-bit) or divides through the float reciprocal (32-bit), and ILGPU may
/// place the computation inside a loop that only uses it.
/// </summary>
public static class KernelIndex
{
    /// <summary><paramref name="i"/> % <paramref name="powerOfTwo"/> for <paramref name="i"/> &gt;= 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long Rem(long i, int powerOfTwo) => i & (powerOfTwo - 1);

    /// <summary><paramref name="i"/> % <paramref name="powerOfTwo"/> for <paramref name="i"/> &gt;= 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Rem(int i, int powerOfTwo) => i & (powerOfTwo - 1);
}
