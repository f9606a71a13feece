namespace S3gd.Gpu.Muon;

/// <summary>
/// A checked Muon step over a fixed list of 2-D parameters, grouped by shape (<see cref="MuonGroup.ByShape(IReadOnlyList{MuonTensor})"/>) so that
/// each group's Newton–Schulz iterations are batched matrix products. Made by <see cref="Backend.PlanMuon"/>.
/// </summary>
public abstract class MuonPlan : IDisposable
{
    private bool disposed;

    /// <summary>Records the checked configuration and tensors and groups them by shape.</summary>
    protected MuonPlan(MuonConfig config, IReadOnlyList<MuonTensor> tensors)
    {
        Config = config;
        Tensors = tensors;
        Groups = MuonGroup.ByShape(tensors);
    }

    /// <summary>The configuration every step uses.</summary>
    public MuonConfig Config { get; }

    /// <summary>The tensors stepped.</summary>
    public IReadOnlyList<MuonTensor> Tensors { get; }

    /// <summary>The tensors grouped by shape.</summary>
    public IReadOnlyList<MuonGroup> Groups { get; }

    /// <summary>Floating-point operations of the Newton–Schulz matrix products of one step.</summary>
    public double NsFlopsPerStep => Config.NsSteps * Groups.Sum(g => g.FlopsPerIteration);

    /// <summary>Queues one step with the configuration's learning rate.</summary>
    public void Step() => Step(Config.Lr);

    /// <summary>Queues one step with learning rate <paramref name="lr"/> (a schedule's value; the rest from the configuration).</summary>
    public void Step(double lr)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (!(lr >= 0)) throw new ArgumentOutOfRangeException(nameof(lr), lr, $"lr must be >= 0, was {lr}");
        StepInternal(lr);
    }

    /// <summary>Frees what the plan holds (work buffers), not the tensors.</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        DisposeInternal();
        GC.SuppressFinalize(this);
    }

    /// <summary>p &lt;- p * (1 - lr * wd) as torch: the factor formed in float64 and applied as float32.</summary>
    protected float DecayFactor(double lr) => (float)(1.0 - lr * Config.WeightDecay);

    /// <summary>Runs one step on the backend.</summary>
    protected abstract void StepInternal(double lr);

    /// <summary>Frees the plan's own resources.</summary>
    protected abstract void DisposeInternal();
}
