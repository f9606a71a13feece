using System.Collections.Concurrent;
using static S3gd.Gpu.Cuda.CudaDriver;

namespace S3gd.Gpu.Cuda;

/// <summary>
/// The CUDA backend: one device's primary context and one stream; kernels compiled by NVRTC for the
/// device's exact architecture on first use, with <c>--fmad=false</c> so the CPU twin matches bit for bit.
/// </summary>
public sealed partial class CudaBackend : Backend
{
    /// <summary>Threads per block of the elementwise kernels.</summary>
    private const uint ThreadsPerBlock = 256;

    /// <summary>Blocks per SM in a grid-stride launch: 2048 resident threads per SM (sm_80+) over 256 per block.</summary>
    private const int BlocksPerMultiprocessor = 8;

    /// <summary>Transfers of at least this many bytes (256 KiB) go through pinned staging memory, where DMA starts to pay.</summary>
    private const int PinnedThreshold = 256 << 10;

    /// <summary>The pinned staging buffer's size: 4 MiB per chunk of a large transfer.</summary>
    private const int StagingBytes = 4 << 20;

    /// <summary>The options of every S3gd kernel: no contraction of a*b+c into fma unless the source writes fma.</summary>
    public static IReadOnlyList<string> BaseOptions { get; } = ["--fmad=false", "--std=c++17"];

    private readonly CudaContext context;
    private readonly CudaStream stream;
    private readonly ConcurrentDictionary<string, (CudaModule Module, CudaKernel Kernel)> kernels = new();
    private readonly Lock stagingLock = new();
    private CudaPinnedBuffer? staging;

    /// <summary>Opens the device with the given ordinal, caching kernels in <paramref name="cache"/> (default: <see cref="CudaKernelCache.DefaultDirectory"/>).</summary>
    public CudaBackend(int deviceOrdinal = 0, CudaKernelCache? cache = null)
    {
        var availability = CudaAvailability.Current;
        if (!availability.IsAvailable) throw new BackendUnavailableException(BackendKind.Cuda, availability.Reason);
        if (deviceOrdinal < 0 || deviceOrdinal >= availability.Devices.Count)
            throw new ArgumentOutOfRangeException(nameof(deviceOrdinal), deviceOrdinal, $"the driver sees {availability.Devices.Count} device(s)");
        Info = availability.Devices[deviceOrdinal];
        context = new CudaContext(deviceOrdinal);
        stream = new CudaStream();
        Compiler = new CudaCompiler(Info.Architecture, cache ?? new CudaKernelCache(CudaKernelCache.DefaultDirectory));
    }

    /// <summary>The device and its capabilities.</summary>
    public CudaDevice Info { get; }

    /// <summary>The NVRTC compiler for the device's architecture.</summary>
    public CudaCompiler Compiler { get; }

    /// <inheritdoc />
    public override BackendKind Kind => BackendKind.Cuda;

    /// <inheritdoc />
    public override string Device => Info.Description;

    /// <inheritdoc />
    public override bool SupportsFp8 => Info.SupportsFp8;

    /// <inheritdoc />
    public override long? DeviceFreeBytes
    {
        get
        {
            context.MakeCurrent();
            ThrowIfFailed(cuMemGetInfo(out var free, out _));
            return (long)free;
        }
    }

    /// <summary>The kernel <paramref name="kernelName"/> of the embedded source <paramref name="file"/>, compiled with <see cref="BaseOptions"/> plus <paramref name="options"/>.</summary>
    public CudaKernel GetKernel(string file, string kernelName, IReadOnlyList<string> options)
    {
        string[] all = [.. BaseOptions, .. options];
        var key = $"{file}\u0000{kernelName}\u0000{string.Join("\u0001", all)}";
        return kernels.GetOrAdd(key, _ =>
        {
            context.MakeCurrent();
            var module = new CudaModule(Compiler.Compile(file, KernelSources.Load(file), all));
            return (module, module.GetKernel(kernelName));
        }).Kernel;
    }

    /// <summary>
    /// A buffer over <paramref name="length"/> elements at a device address another framework allocated in this device's
    /// primary context (a torch tensor's data_ptr()); the memory stays theirs: disposing the buffer frees nothing.
    /// </summary>
    public DeviceBuffer Wrap(ulong pointer, ElementType elementType, long length)
    {
        if (pointer == 0) throw new ArgumentException("the device pointer is null", nameof(pointer));
        if (!Enum.IsDefined(elementType)) throw new ArgumentOutOfRangeException(nameof(elementType), elementType, "unknown element type");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        return Track(new CudaBuffer(this, context, elementType, length, pointer));
    }

    /// <inheritdoc />
    protected override DeviceBuffer AllocateInternal(ElementType elementType, long length)
    {
        context.MakeCurrent();
        return new CudaBuffer(this, context, elementType, length);
    }

    /// <inheritdoc />
    protected override unsafe void UploadInternal(DeviceBuffer destination, ReadOnlySpan<byte> source)
    {
        if (source.IsEmpty) return;
        context.MakeCurrent();
        var pointer = ((CudaBuffer)destination).Pointer;
        if (source.Length < PinnedThreshold)
        {
            fixed (byte* p = source) ThrowIfFailed(cuMemcpyHtoDAsync(pointer, p, (nuint)source.Length, stream.Handle));
            // The host memory is only fixed for this call: wait until the copy has read it.
            stream.Synchronize();
            return;
        }
        lock (stagingLock)
        {
            var stage = Staging();
            for (var offset = 0; offset < source.Length; offset += stage.Length)
            {
                var count = Math.Min(stage.Length, source.Length - offset);
                source.Slice(offset, count).CopyTo(stage.Span);
                ThrowIfFailed(cuMemcpyHtoDAsync(pointer + (ulong)offset, stage.Pointer, (nuint)count, stream.Handle));
                stream.Synchronize();
            }
        }
    }

    /// <inheritdoc />
    protected override unsafe void DownloadInternal(DeviceBuffer source, Span<byte> destination)
    {
        if (destination.IsEmpty) return;
        context.MakeCurrent();
        var pointer = ((CudaBuffer)source).Pointer;
        if (destination.Length < PinnedThreshold)
        {
            fixed (byte* p = destination) ThrowIfFailed(cuMemcpyDtoHAsync(p, pointer, (nuint)destination.Length, stream.Handle));
            stream.Synchronize();
            return;
        }
        lock (stagingLock)
        {
            var stage = Staging();
            for (var offset = 0; offset < destination.Length; offset += stage.Length)
            {
                var count = Math.Min(stage.Length, destination.Length - offset);
                ThrowIfFailed(cuMemcpyDtoHAsync(stage.Pointer, pointer + (ulong)offset, (nuint)count, stream.Handle));
                stream.Synchronize();
                stage.Span[..count].CopyTo(destination.Slice(offset, count));
            }
        }
    }

    /// <summary>The pinned staging buffer, allocated on the first large transfer (call under the staging lock).</summary>
    private CudaPinnedBuffer Staging() => staging ??= new CudaPinnedBuffer(StagingBytes);

    /// <inheritdoc />
    protected override void EncodeInternal(IReadOnlyList<TensorPair> tensors)
    {
        foreach (var pair in tensors) LaunchConversion("encode", pair.Destination.ElementType, pair);
    }

    /// <inheritdoc />
    protected override void DecodeInternal(IReadOnlyList<TensorPair> tensors)
    {
        foreach (var pair in tensors) LaunchConversion("decode", pair.Source.ElementType, pair);
    }

    /// <inheritdoc />
    protected override void SynchronizeInternal()
    {
        context.MakeCurrent();
        stream.Synchronize();
    }

    /// <inheritdoc />
    protected override double TimeInternal(Action work)
    {
        context.MakeCurrent();
        using var start = new CudaEvent();
        using var end = new CudaEvent();
        start.Record(stream);
        work();
        context.MakeCurrent();
        end.Record(stream);
        end.Synchronize();
        return end.ElapsedSince(start);
    }

    /// <inheritdoc />
    protected override void DisposeInternal()
    {
        context.MakeCurrent();
        stream.Synchronize();
        DisposeCublas();
        foreach (var (module, _) in kernels.Values) module.Dispose();
        kernels.Clear();
        staging?.Dispose();
        stream.Dispose();
        context.Dispose();
    }

    private unsafe void LaunchConversion(string kernelName, ElementType format, TensorPair pair)
    {
        var n = pair.Source.Length;
        if (n == 0) return;
        var kernel = GetKernel("Convert.cu", kernelName, [$"-DS3GD_FORMAT={(int)format}"]);
        var source = ((CudaBuffer)pair.Source).Pointer;
        var destination = ((CudaBuffer)pair.Destination).Pointer;
        var blocks = (uint)Math.Min((n + ThreadsPerBlock - 1) / ThreadsPerBlock, (long)Info.MultiprocessorCount * BlocksPerMultiprocessor);
        void** arguments = stackalloc void*[] { &source, &destination, &n };
        context.MakeCurrent();
        kernel.Launch(stream, blocks, ThreadsPerBlock, arguments);
    }
}
