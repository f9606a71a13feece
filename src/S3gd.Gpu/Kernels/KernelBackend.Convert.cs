namespace S3gd.Gpu.Kernels;

/// <summary>Format conversions on a kernel backend: <see cref="ConvertKernel"/> per pair.</summary>
public abstract partial class KernelBackend
{
    /// <summary>Blocks of a conversion's grid-stride launch, at most: enough to fill any GPU, few enough to start quickly.</summary>
    private const int MaxConvertBlocks = 1024;

    /// <inheritdoc />
    protected override void EncodeInternal(IReadOnlyList<TensorPair> tensors)
    {
        foreach (var (source, destination) in tensors) Convert(nameof(ConvertKernel.Encode), destination.ElementType, source, destination);
    }

    /// <inheritdoc />
    protected override void DecodeInternal(IReadOnlyList<TensorPair> tensors)
    {
        foreach (var (source, destination) in tensors) Convert(nameof(ConvertKernel.Decode), source.ElementType, destination, source);
    }

    private void Convert(string kernel, ElementType codes, DeviceBuffer values, DeviceBuffer coded)
    {
        var n = values.Length;
        if (n == 0) return;
        var type = codes switch
        {
            ElementType.Float32 => typeof(Fp32Codes),
            ElementType.BFloat16 => typeof(Bf16Codes),
            ElementType.Fp8E4M3 => typeof(Fp8Codes<E4M3>),
            _ => typeof(Fp8Codes<E5M2>),
        };
        var blocks = (int)Math.Min((n + ConvertKernel.Threads - 1) / ConvertKernel.Threads, MaxConvertBlocks);
        Launch(Kernel(typeof(ConvertKernel), kernel, Ops, type), new KernelGrid(blocks, 1, ConvertKernel.Threads),
            new ConvertArgs { Values = AddressOf(values), Codes = AddressOf(coded), Length = n });
    }
}
