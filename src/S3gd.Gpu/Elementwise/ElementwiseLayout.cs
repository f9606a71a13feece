namespace S3gd.Gpu.Elementwise;

/// <summary>The work layout of the elementwise kernel, mirroring the defines at the top of <c>elementwise.cu</c>.</summary>
public static class ElementwiseLayout
{
    /// <summary>Threads per block (THREADS).</summary>
    public const int Threads = 256;

    /// <summary>Elements per thread per group (VEC): 16 bytes of bf16.</summary>
    public const int Vec = 8;

    /// <summary>Elements per block of the default layout, the chunk a tensor is cut into (CHUNK; see <see cref="ElementwiseLaunch"/>).</summary>
    public const int Chunk = Threads * Vec * 2;

    /// <summary>Elements per block scale of block-scaled fp8 state (SCALE_BLOCK), as the spec's BlockScaled.DefaultBlockSize.</summary>
    public const int ScaleBlock = S3gd.Spec.Formats.BlockScaledModule.DefaultBlockSize;

    /// <summary>Pointers per tensor in the device table (SLOTS): param, grad, three states, three scale arrays, the Kahan compensation.</summary>
    public const int Slots = 9;

    /// <summary>Table slot of the bf16 Kahan compensation buffer (null unless <see cref="ParamUpdate.Kahan"/>).</summary>
    public const int CompensationSlot = 8;

    /// <summary>Table slot of the parameter.</summary>
    public const int ParamSlot = 0;

    /// <summary>Table slot of the gradient.</summary>
    public const int GradSlot = 1;

    /// <summary>Table slot of state buffer k (0..2).</summary>
    public static int StateSlot(int k) => 2 + k;

    /// <summary>Table slot of the block scales of state buffer k (0..2).</summary>
    public static int ScaleSlot(int k) => 5 + k;

    /// <summary>The number of block scales of a tensor of <paramref name="length"/> elements.</summary>
    public static long ScaleCount(long length) => (length + ScaleBlock - 1) / ScaleBlock;

}
