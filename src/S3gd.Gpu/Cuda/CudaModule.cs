using static S3gd.Gpu.Cuda.CudaDriver;

namespace S3gd.Gpu.Cuda;

/// <summary>A module loaded into the current context: PTX that the driver's JIT compiles for the device.</summary>
public sealed class CudaModule : IDisposable
{
    /// <summary>Bytes of the JIT's error log.</summary>
    private const int LogBytes = 16 << 10;

    private readonly nint handle;
    private bool disposed;

    /// <summary>
    /// Loads a kernel's PTX into the current context, compiled within <paramref name="maxRegisters"/> registers a thread
    /// (0: the JIT's choice); a JIT error is a <see cref="CudaCompileException"/> with its log.
    /// </summary>
    internal unsafe CudaModule(string name, string ptx, int maxRegisters = 0)
    {
        var image = System.Text.Encoding.ASCII.GetBytes(ptx + "\0");
        var log = new byte[LogBytes];
        CUresult status;
        fixed (byte* p = image)
        fixed (byte* l = log)
        {
            var options = stackalloc CUjit_option[] { CUjit_option.ErrorLogBuffer, CUjit_option.ErrorLogBufferSizeBytes, CUjit_option.MaxRegisters };
            var values = stackalloc void*[] { l, (void*)LogBytes, (void*)maxRegisters };
            status = cuModuleLoadDataEx(out handle, p, maxRegisters > 0 ? 3u : 2u, options, values);
        }
        if (status == CUresult.Success) return;
        var text = System.Text.Encoding.ASCII.GetString(log).TrimEnd('\0');
        throw new CudaCompileException(name, ["driver JIT", ErrorName(status)], ptx, text.Length > 0 ? text : ErrorName(status));
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
    /// Queues the kernel on <paramref name="stream"/> over a <paramref name="blocksX"/> x <paramref name="blocksY"/> grid;
    /// <paramref name="arguments"/> points to one pointer per kernel parameter; <paramref name="sharedBytes"/> of dynamic
    /// shared memory per block (at most 48 KiB without an opt-in).
    /// </summary>
    internal unsafe void Launch(CudaStream stream, uint blocksX, uint blocksY, uint threadsPerBlock, void** arguments, uint sharedBytes = 0) =>
        ThrowIfFailed(cuLaunchKernel(function, blocksX, blocksY, 1, threadsPerBlock, 1, 1, sharedBytes, stream.Handle, arguments, null));
}
