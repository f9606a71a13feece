namespace S3gd.Gpu.Muon;

/// <summary>
/// One parameter on OAdamW's Newton–Schulz path: its float32 gradient and the float32 buffer that receives
/// scale * NS(gradient) (and keeps it between recomputations), both <see cref="Rows"/> x <see cref="Cols"/>, row-major.
/// </summary>
public sealed record OAdamWProjection(DeviceBuffer Grad, DeviceBuffer Output, int Rows, int Cols)
{
    /// <summary>Rows x cols, the length both buffers must have.</summary>
    public long Length => (long)Rows * Cols;
}

/// <summary>
/// OAdamW's matrix path over a fixed list of parameters (MuonProjector: X / (||X||_F + 1e-7), the quintic, ns_steps
/// iterations, times scale), same-shape matrices orthogonalised together; its outputs are the gradients the StableAdamW
/// core then takes. Made by <see cref="Backend.PlanOAdamWProjection"/>.
/// </summary>
public abstract class OAdamWProjectionPlan : IDisposable
{
    private bool disposed;
    private bool projected;

    /// <summary>Records the checked configuration and tensors and groups them by shape.</summary>
    protected OAdamWProjectionPlan(OAdamWMatrixConfig config, IReadOnlyList<OAdamWProjection> tensors)
    {
        Config = config;
        Tensors = tensors;
        Groups = MuonGroup.ByShape(tensors.Select(t => (t.Rows, t.Cols)).ToArray());
    }

    /// <summary>The configuration every step uses.</summary>
    public OAdamWMatrixConfig Config { get; }

    /// <summary>The tensors projected.</summary>
    public IReadOnlyList<OAdamWProjection> Tensors { get; }

    /// <summary>The tensors grouped by shape.</summary>
    public IReadOnlyList<MuonGroup> Groups { get; }

    /// <summary>
    /// Step <paramref name="step"/> (1-based): queues scale * NS(gradient) into every output when the step recomputes
    /// (<see cref="OAdamWMatrixConfig.Projects"/>); otherwise the outputs keep the last projection. Returns whether it recomputed.
    /// </summary>
    public bool Step(int step)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        ArgumentOutOfRangeException.ThrowIfLessThan(step, 1);
        if (!Config.Projects(step, projected)) return false;
        StepInternal();
        projected = true;
        return true;
    }

    /// <summary>Frees what the plan holds (work buffers), not the tensors.</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        DisposeInternal();
        GC.SuppressFinalize(this);
    }

    /// <summary>Runs one projection on the backend.</summary>
    protected abstract void StepInternal();

    /// <summary>Frees the plan's own resources.</summary>
    protected abstract void DisposeInternal();
}
