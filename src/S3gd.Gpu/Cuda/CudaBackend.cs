using System.Collections.Concurrent;
using System.Reflection;
using S3gd.Gpu.Kernels;
using static S3gd.Gpu.Cuda.CudaDriver;

namespace S3gd.Gpu.Cuda;

/// <summary>
/// The CUDA backend: one device's primary context (shared with other frameworks in the process, so their buffers can be
/// stepped in place) and one stream; the C# kernels compiled to PTX for the device's exact architecture by ILGPU
/// (<see cref="CudaKernelCompiler"/>) on first use, loaded through the driver and kept for the backend's life.
/// </summary>
public sealed partial class CudaBackend : KernelBackend
{
    /// <summary>Transfers of at least this many bytes (256 KiB) go through pinned staging memory, where DMA starts to pay.</summary>
    private const int PinnedThreshold = 256 << 10;

    /// <summary>The pinned staging buffer's size: 4 MiB per chunk of a large transfer.</summary>
    private const int StagingBytes = 4 << 20;

    /// <summary>The kernels' address space argument: a byte view at address 0 over the 47-bit user address space.</summary>
    private static readonly KernelView AddressSpace = new(0, 1L << 47);

    private readonly CudaContext context;
    private readonly CudaStream stream;
    private readonly ConcurrentDictionary<(MethodInfo Kernel, int MaxRegisters), (CudaModule Module, CudaKernel Kernel)> kernels = new();
    private readonly Lock stagingLock = new();
    private CudaPinnedBuffer? staging;

    /// <summary>
    /// Opens the device with the given ordinal. <paramref name="capability"/> (major, minor), if given, treats it as a GPU
    /// of that older compute capability: kernels compiled for that architecture, its formats refused (fp8 below sm_89);
    /// it checks an older GPU's behaviour on a newer one.
    /// </summary>
    public CudaBackend(int deviceOrdinal = 0, (int Major, int Minor)? capability = null)
    {
        var availability = CudaAvailability.Current;
        if (!availability.IsAvailable) throw new BackendUnavailableException(BackendKind.Cuda, availability.Reason);
        if (deviceOrdinal < 0 || deviceOrdinal >= availability.Devices.Count)
            throw new ArgumentOutOfRangeException(nameof(deviceOrdinal), deviceOrdinal, $"the driver sees {availability.Devices.Count} device(s)");
        Info = availability.Devices[deviceOrdinal];
        if (capability is var (major, minor))
        {
            if (major < 8 || major * 10 + minor > Info.Major * 10 + Info.Minor)
                throw new ArgumentOutOfRangeException(nameof(capability), capability,
                    $"the kernels need sm_80 or newer, and {Info.Description} can stand in for no newer GPU than itself");
            Info = Info with { Major = major, Minor = minor };
        }
        context = new CudaContext(deviceOrdinal);
        stream = new CudaStream();
        Compiler = new CudaKernelCompiler(Info.Major, Info.Minor, availability.DriverVersion ?? 0);
    }

    /// <summary>The device and its capabilities.</summary>
    public CudaDevice Info { get; }

    /// <summary>ILGPU's PTX backend for the device's architecture.</summary>
    public CudaKernelCompiler Compiler { get; }

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

    /// <inheritdoc />
    protected internal override Type Ops => typeof(CudaOps);

    /// <inheritdoc />
    protected internal override Type Maths(bool bf16) => bf16 ? typeof(CudaBf16Maths) : typeof(CudaMaths);

    /// <inheritdoc />
    protected internal override ulong AddressOf(DeviceBuffer buffer) => ((CudaBuffer)buffer).Pointer;

    /// <inheritdoc />
    protected internal override unsafe void Launch<TArgs>(MethodInfo kernel, KernelGrid grid, in TArgs args)
    {
        var function = kernels.GetOrAdd((kernel, MaxRegisters(grid)), k => Load(k.Kernel, sizeof(TArgs), k.MaxRegisters)).Kernel;
        var memory = AddressSpace;
        var copy = args;
        void** arguments = stackalloc void*[] { &memory, &copy };
        context.MakeCurrent();
        function.Launch(stream, (uint)grid.BlocksX, (uint)grid.BlocksY, (uint)grid.Threads, arguments, (uint)grid.SharedBytes);
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

    /// <inheritdoc />
    protected override void CopyInternal(DeviceBuffer source, DeviceBuffer destination)
    {
        if (source.SizeInBytes == 0) return;
        context.MakeCurrent();
        ThrowIfFailed(cuMemcpyDtoDAsync(((CudaBuffer)destination).Pointer, ((CudaBuffer)source).Pointer, (nuint)source.SizeInBytes, stream.Handle));
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
        Compiler.Dispose();
        staging?.Dispose();
        stream.Dispose();
        context.Dispose();
    }

    /// <summary>The pinned staging buffer, allocated on the first large transfer (call under the staging lock).</summary>
    private CudaPinnedBuffer Staging() => staging ??= new CudaPinnedBuffer(StagingBytes);

    /// <summary>The environment variable naming a folder where every compiled kernel's PTX is written (for ptxas and reading).</summary>
    public const string PtxFolderVariable = "S3GD_PTX_DIR";

    /// <summary>32-bit registers of an SM (every architecture since sm_50).</summary>
    private const int RegistersPerSm = 64 * 1024;

    /// <summary>The register allocation unit of a thread: registers are given out 8 at a time.</summary>
    private const int RegisterGranule = 8;

    /// <summary>The most registers a thread may take so that <see cref="KernelGrid.MinBlocksPerSm"/> blocks fit an SM; 0 for no cap.</summary>
    private static int MaxRegisters(KernelGrid grid) =>
        grid.MinBlocksPerSm <= 0 ? 0 : RegistersPerSm / (grid.Threads * grid.MinBlocksPerSm) / RegisterGranule * RegisterGranule;

    /// <summary>
    /// Compiles and loads a kernel (at most <paramref name="maxRegisters"/> registers a thread, 0 for no cap), checking
    /// that its parameters are the address space and one <paramref name="argsBytes"/>-byte struct.
    /// </summary>
    private (CudaModule, CudaKernel) Load(MethodInfo kernel, int argsBytes, int maxRegisters)
    {
        var compiled = Compiler.Compile(kernel);
        if (Environment.GetEnvironmentVariable(PtxFolderVariable) is { Length: > 0 } folder)
            File.WriteAllText(Path.Combine(folder, $"kernel-{Compiler.Compilations:D4}.ptx"), $"// {kernel}\n{compiled.Ptx}");
        if (compiled.ParameterBytes.Count != 2 || compiled.ParameterBytes[0] != KernelView.Bytes || compiled.ParameterBytes[1] != argsBytes)
            throw new InvalidOperationException(
                $"{kernel}: ILGPU's PTX takes parameters of [{string.Join(", ", compiled.ParameterBytes)}] bytes, the launch passes [{KernelView.Bytes}, {argsBytes}]");
        context.MakeCurrent();
        var module = new CudaModule(kernel.ToString() ?? compiled.Entry, compiled.Ptx, maxRegisters);
        return (module, module.GetKernel(compiled.Entry));
    }

    /// <summary>An ILGPU array view as a PTX kernel parameter: its pointer and its length in elements.</summary>
    private readonly record struct KernelView(ulong Pointer, long Length)
    {
        /// <summary>The parameter's bytes.</summary>
        public const int Bytes = 16;
    }
}
