namespace S3gd.Gpu.Adafactor;

/// <summary>
/// A checked Adafactor step over a fixed list of parameters (<see cref="Backend.PlanAdafactor"/>): the moments, each
/// tensor's sums of squares (parameter and update), then the update, queued on the device with no host round trip.
/// </summary>
public abstract class AdafactorPlan : IDisposable
{
    private bool disposed;

    /// <summary>Records the checked configuration and tensors.</summary>
    protected AdafactorPlan(AdafactorConfig config, IReadOnlyList<AdafactorTensor> tensors)
    {
        Config = config;
        Tensors = tensors;
    }

    /// <summary>The configuration every step uses.</summary>
    public AdafactorConfig Config { get; }

    /// <summary>The tensors stepped.</summary>
    public IReadOnlyList<AdafactorTensor> Tensors { get; }

    /// <summary>Queues step <paramref name="step"/> (1-based; every tensor's torch <c>step</c> after it) with the configuration's lr, or <paramref name="lr"/> (a schedule's).</summary>
    public void Step(int step, double? lr = null)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        StepInternal(AdafactorScalars.For(Config, step, lr));
    }

    /// <summary>Frees what the plan holds (its table and sums), not the tensors.</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        DisposeInternal();
        GC.SuppressFinalize(this);
    }

    /// <summary>Runs one step on the backend.</summary>
    protected abstract void StepInternal(AdafactorScalars scalars);

    /// <summary>Frees the plan's own resources.</summary>
    protected abstract void DisposeInternal();
}
