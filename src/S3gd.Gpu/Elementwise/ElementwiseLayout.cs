using S3gd.Gpu.Kernels;

namespace S3gd.Gpu.Elementwise;

/// <summary>The work layout of the elementwise kernel (<see cref="ElementwiseKernel"/>) as the host sees it.</summary>
public static class ElementwiseLayout
{
    /// <summary>Threads per block.</summary>
    public const int Threads = ElementwiseKernel.Threads;

    /// <summary>Elements per thread: 16 bytes of bf16.</summary>
    public const int Vec = Lanes.Count;

    /// <summary>Elements per block of the default layout (one group per thread), the chunk a tensor is cut into.</summary>
    public const int Chunk = Threads * Vec;

    /// <summary>Elements per block scale of block-scaled fp8 state, as the spec's BlockScaled.DefaultBlockSize.</summary>
    public const int ScaleBlock = KernelFormat.ScaleBlock;

    /// <summary>The number of block scales of a tensor of <paramref name="length"/> elements.</summary>
    public static long ScaleCount(long length) => (length + ScaleBlock - 1) / ScaleBlock;
}
