namespace S3gd.Gpu.Optimizers;

/// <summary>
/// What an optimizer class supplies per param group: the state it allocated for the group's parameters and a plan
/// built once that steps them (the whole group in one launch, or one parameter). An optimizer over another backend
/// plan (Adam-mini, Muon, ...) is one small <see cref="Optimizer"/> subclass returning its own stepper.
/// </summary>
public abstract class GroupStepper : IDisposable
{
    private bool disposed;

    /// <summary>A stepper for a resolved group.</summary>
    protected GroupStepper(OptimizerGroup group)
    {
        ArgumentNullException.ThrowIfNull(group);
        Group = group;
    }

    /// <summary>The group stepped.</summary>
    public OptimizerGroup Group { get; }

    /// <summary>The formats and modes that fix the state's meaning beyond its dtypes (maths, update mode); checkpoints must match it.</summary>
    public abstract string Precision { get; }

    /// <summary>The state buffers of parameter <paramref name="index"/> of the group, by name, in a fixed order.</summary>
    public abstract IReadOnlyList<NamedBuffer> StateOf(int index);

    /// <summary>Steps every parameter of the group once: step <paramref name="step"/> (1-based) with learning rate <paramref name="lr"/>.</summary>
    public abstract void Step(int step, double lr);

    /// <summary>Steps parameter <paramref name="index"/> of the group alone.</summary>
    public abstract void Step(int index, int step, double lr);

    /// <summary>Whether steps measure what <see cref="Readings"/> reports (the optimizer sets it from <see cref="Optimizer.TelemetryEnabled"/>).</summary>
    public bool Measure { get; set; }

    /// <summary>What the last step's plan exposes (unavailable unless a plan measures it).</summary>
    public virtual GroupReadings Readings => GroupReadings.Unavailable;

    /// <summary>Frees the plans and the state.</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        DisposeInternal();
        GC.SuppressFinalize(this);
    }

    /// <summary>Frees the stepper's plans and state buffers.</summary>
    protected abstract void DisposeInternal();
}
