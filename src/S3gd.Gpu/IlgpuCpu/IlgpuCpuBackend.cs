using System.Collections.Concurrent;
using System.Diagnostics;
using System.Reflection;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using S3gd.Gpu.Cpu;
using S3gd.Gpu.Kernels;

namespace S3gd.Gpu.IlgpuCpu;

/// <summary>
/// The kernels' own code on ILGPU's CPU accelerator: every kernel that runs on CUDA runs here as the same C# method, with
/// managed operations (<see cref="ManagedOps"/>) and maths (<see cref="ScalarMaths"/>, <see cref="Bf16Maths"/>) in place
/// of the GPU's instructions, each thread of a block a thread of the accelerator and a warp 32 of them. Slow (tensors of
/// thousands of elements, not millions), so CI can check the kernel code itself against the spec and the other backends.
/// </summary>
public sealed class IlgpuCpuBackend : KernelBackend
{
    /// <summary>Lanes of a simulated warp: the GPU's, so warp reductions and block layouts are the GPU's.</summary>
    private const int WarpSize = 32;

    /// <summary>Warps of a simulated multiprocessor: 256 threads, the largest block any kernel launches.</summary>
    private const int WarpsPerMultiprocessor = 8;

    private readonly Context context;
    private readonly CPUAccelerator accelerator;
    private readonly AddressSpace space;
    private readonly ConcurrentDictionary<MethodInfo, Delegate> kernels = new();

    /// <summary>A CPU accelerator of one multiprocessor.</summary>
    public IlgpuCpuBackend()
    {
        var device = new CPUDevice(WarpSize, WarpsPerMultiprocessor, numMultiprocessors: 1);
        context = Context.Create(builder => builder.CPU(device).Optimize(OptimizationLevel.O1));
        accelerator = device.CreateCPUAccelerator(context);
        space = new AddressSpace(accelerator);
    }

    /// <inheritdoc />
    public override BackendKind Kind => BackendKind.IlgpuCpu;

    /// <inheritdoc />
    public override string Device => $"ILGPU CPU accelerator ({WarpsPerMultiprocessor} warps of {WarpSize} threads, managed operations)";

    /// <inheritdoc />
    public override bool SupportsFp8 => true;

    /// <inheritdoc />
    protected internal override Type Ops => typeof(ManagedOps);

    /// <inheritdoc />
    protected internal override Type Maths(bool bf16) => bf16 ? typeof(Bf16Maths) : typeof(ScalarMaths);

    /// <inheritdoc />
    protected internal override unsafe ulong AddressOf(DeviceBuffer buffer) => (ulong)((IlgpuCpuBuffer)buffer).Pointer;

    /// <inheritdoc />
    protected internal override void Launch<TArgs>(MethodInfo kernel, KernelGrid grid, in TArgs args)
    {
        var launch = (Action<KernelConfig, ArrayView<byte>, TArgs>)kernels.GetOrAdd(kernel, k =>
            accelerator.LoadStreamKernel(k.CreateDelegate<Action<ArrayView<byte>, TArgs>>()));
        launch(new KernelConfig(new Index3D(grid.BlocksX, grid.BlocksY, 1), new Index3D(grid.Threads, 1, 1)), space.View, args);
    }

    /// <inheritdoc />
    protected override DeviceBuffer AllocateInternal(ElementType elementType, long length) => new IlgpuCpuBuffer(this, elementType, length);

    /// <inheritdoc />
    protected override void UploadInternal(DeviceBuffer destination, ReadOnlySpan<byte> source)
    {
        accelerator.Synchronize();
        source.CopyTo(((IlgpuCpuBuffer)destination).Bytes);
    }

    /// <inheritdoc />
    protected override void DownloadInternal(DeviceBuffer source, Span<byte> destination)
    {
        accelerator.Synchronize();
        ((IlgpuCpuBuffer)source).Bytes.CopyTo(destination);
    }

    /// <inheritdoc />
    protected override void CopyInternal(DeviceBuffer source, DeviceBuffer destination)
    {
        accelerator.Synchronize();
        ((IlgpuCpuBuffer)source).Bytes.CopyTo(((IlgpuCpuBuffer)destination).Bytes);
    }

    /// <inheritdoc />
    protected override void SynchronizeInternal() => accelerator.Synchronize();

    /// <inheritdoc />
    protected override double TimeInternal(Action work)
    {
        accelerator.Synchronize();
        var watch = Stopwatch.StartNew();
        work();
        accelerator.Synchronize();
        return watch.Elapsed.TotalMilliseconds;
    }

    /// <inheritdoc />
    protected override void DisposeInternal()
    {
        accelerator.Synchronize();
        space.Dispose();
        accelerator.Dispose();
        context.Dispose();
    }
}
