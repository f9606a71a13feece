using static S3gd.Gpu.Cuda.CudaDriver;

namespace S3gd.Gpu.Cuda;

/// <summary>A compiled module (cubin) loaded into the current context with cuModuleLoadData.</summary>
public sealed class CudaModule : IDisposable
{
    private readonly nint handle;
    private bool disposed;

    /// <summary>Loads a cubin image into the current context.</summary>
    internal unsafe CudaModule(byte[] image)
    {
        fixed (byte* p = image) ThrowIfFailed(cuModuleLoadData(out handle, p));
    }

    /// <summary>The kernel with the given (extern "C") name.</summary>
    public CudaKernel GetKernel(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ThrowIfFailed(cuModuleGetFunction(out var function, handle, name));
        return new CudaKernel(function, name);
    }

    /// <summary>Unloads the module.</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        ThrowIfFailed(cuModuleUnload(handle));
    }
}

/// <summary>One kernel of a loaded module, launched on a stream.</summary>
public sealed class CudaKernel
{
    private readonly nint function;

    internal CudaKernel(nint function, string name)
    {
        this.function = function;
        Name = name;
    }

    /// <summary>The kernel's name.</summary>
    public string Name { get; }

    /// <summary>
    /// Queues a one-dimensional launch; <paramref name="arguments"/> points to one pointer per kernel parameter;
    /// <paramref name="sharedBytes"/> of dynamic shared memory per block (at most 48 KiB without an opt-in).
    /// </summary>
    internal unsafe void Launch(CudaStream stream, uint blocks, uint threadsPerBlock, void** arguments, uint sharedBytes = 0) =>
        ThrowIfFailed(cuLaunchKernel(function, blocks, 1, 1, threadsPerBlock, 1, 1, sharedBytes, stream.Handle, arguments, null));

    /// <summary>Queues the kernel on <paramref name="stream"/> over a <paramref name="blocksX"/> x <paramref name="blocksY"/> grid.</summary>
    internal unsafe void Launch(CudaStream stream, uint blocksX, uint blocksY, uint threadsPerBlock, void** arguments) =>
        ThrowIfFailed(cuLaunchKernel(function, blocksX, blocksY, 1, threadsPerBlock, 1, 1, 0, stream.Handle, arguments, null));
}
