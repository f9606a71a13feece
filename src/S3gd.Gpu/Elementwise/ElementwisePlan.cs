namespace S3gd.Gpu.Elementwise;

/// <summary>
/// A checked elementwise step over a fixed list of tensors, ready to run: the CUDA backend keeps the tensor table on the
/// device, so each <see cref="Step"/> is one launch with no host round trip. Made by <see cref="Backend.PlanElementwise"/>.
/// </summary>
public abstract class ElementwisePlan : IDisposable
{
    private bool disposed;

    /// <summary>Records the checked configuration and tensors, cut into chunks of <paramref name="chunk"/> elements.</summary>
    protected ElementwisePlan(ElementwiseConfig config, IReadOnlyList<ElementwiseTensor> tensors, int chunk = ElementwiseLayout.Chunk)
    {
        Config = config;
        Tensors = tensors;
        Chunks = new ElementwiseChunks(tensors.Select(t => t.Param.Length).ToArray(), chunk);
    }

    /// <summary>The configuration every step uses.</summary>
    public ElementwiseConfig Config { get; }

    /// <summary>The tensors stepped.</summary>
    public IReadOnlyList<ElementwiseTensor> Tensors { get; }

    /// <summary>How the tensors are cut into the kernel's chunks.</summary>
    public ElementwiseChunks Chunks { get; }

    /// <summary>
    /// Bytes one step must move: every element's param, grad, state and Kahan compensation read once, param, state and
    /// compensation written once, and the block scales.
    /// </summary>
    public long BytesPerStep => Tensors.Sum(t =>
        2 * t.Param.SizeInBytes + t.Grad.SizeInBytes + (t.Compensation is null ? 0 : 2 * t.Compensation.SizeInBytes)
        + t.States.Sum(s => s is null ? 0 : 2 * s.SizeInBytes) + t.Scales.Sum(s => s is null ? 0 : 2 * s.SizeInBytes));

    /// <summary>Queues one step with the given scalars (<see cref="StepScalars.For"/>).</summary>
    public void Step(StepScalars scalars)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        StepInternal(scalars);
    }

    /// <summary>Frees what the plan holds on the device (not the tensors).</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        DisposeInternal();
        GC.SuppressFinalize(this);
    }

    /// <summary>Runs one step on the backend.</summary>
    protected abstract void StepInternal(StepScalars scalars);

    /// <summary>Frees the plan's own resources.</summary>
    protected abstract void DisposeInternal();
}
