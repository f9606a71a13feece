namespace S3gd.Gpu.Structured;

/// <summary>
/// A checked structured step over a fixed list of tensors (<see cref="Backend.PlanStructured"/>): a reduction pass, a
/// finalize per group and an update pass, queued on the device with no host round trip.
/// </summary>
public abstract class StructuredPlan : IDisposable
{
    private bool disposed;

    /// <summary>Fixes the configuration and the tensors and cuts them into groups and segments.</summary>
    protected StructuredPlan(StructuredConfig config, IReadOnlyList<StructuredTensor> tensors)
    {
        Config = config;
        Tensors = tensors;
        Layout = new StructuredLayout(
            tensors.Select(t => t.Param.Length).ToArray(),
            tensors.Select(t => config.Rule == StructuredRule.StableAdamW ? Math.Max(1, t.Param.Length) : t.BlockLength).ToArray());
    }

    /// <summary>The configuration.</summary>
    public StructuredConfig Config { get; }

    /// <summary>The tensors, in table order.</summary>
    public IReadOnlyList<StructuredTensor> Tensors { get; }

    /// <summary>The groups and segments the passes run over.</summary>
    public StructuredLayout Layout { get; }

    /// <summary>
    /// Bytes one step must move: the reduction reads the gradient (and StableAdamW's exp_avg_sq); the update reads param,
    /// gradient, moments and compensation and writes param, moments and compensation; Adam-mini's vmean is read and written
    /// once per block; an fp8 first moment's block words are read and written and its slots read; each split segment's
    /// partial sum is written and read once. A tensor of whole groups (at most
    /// <see cref="StructuredLayout.Chunk"/> elements each) is reduced and updated by one warp per group, whose second read
    /// of the gradient (and exp_avg_sq) comes from the cache, so its reduction moves nothing more.
    /// </summary>
    public long BytesPerStep => Tensors.Sum(t =>
    {
        var stable = Config.Rule == StructuredRule.StableAdamW;
        var whole = StructuredLayout.IsWhole(stable ? t.Param.Length : t.BlockLength);
        var reduce = whole ? 0 : t.Grad.SizeInBytes + (stable ? t.SecondMoment.SizeInBytes : 0);
        var update = 2 * t.Param.SizeInBytes + t.Grad.SizeInBytes + 2 * t.Moment.SizeInBytes + 2 * t.SecondMoment.SizeInBytes
            + (t.Compensation is null ? 0 : 2 * t.Compensation.SizeInBytes)
            + (t.Fallback is null ? 0 : 2 * t.Fallback.Scales.SizeInBytes + t.Fallback.Pool.SizeInBytes);
        return reduce + update;
    }) + 2L * sizeof(float) * Layout.SplitSegments;

    /// <summary>Queues one step with the given scalars (<see cref="StructuredScalars.For"/>).</summary>
    public void Step(StructuredScalars scalars)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        StepInternal(scalars);
    }

    /// <summary>
    /// Each tensor's counters over the steps since the last read, then resets them (waits for queued steps). Needs a
    /// configuration with <see cref="StructuredConfig.Telemetry"/>.
    /// </summary>
    public IReadOnlyList<StructuredTelemetry> ReadTelemetry()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        if (!Config.Telemetry) throw new InvalidOperationException($"{Config}: telemetry is off (make the configuration with telemetry=true)");
        return ReadTelemetryInternal();
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
    protected abstract void StepInternal(StructuredScalars scalars);

    /// <summary>Reads and resets the telemetry counters.</summary>
    protected abstract IReadOnlyList<StructuredTelemetry> ReadTelemetryInternal();

    /// <summary>Frees the plan's own resources.</summary>
    protected abstract void DisposeInternal();
}
