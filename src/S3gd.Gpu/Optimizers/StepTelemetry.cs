using System.Globalization;

namespace S3gd.Gpu.Optimizers;

/// <summary>
/// What one group's step reported (<see cref="Optimizer.Telemetry"/>, when <see cref="Optimizer.TelemetryEnabled"/>).
/// A null reading is one the group's plan does not expose: unavailable, not zero.
/// </summary>
/// <param name="Step">The step taken (1-based).</param>
/// <param name="Group">The param group's index.</param>
/// <param name="WallMilliseconds">Host wall time of the step, waited for (telemetry synchronizes after each group).</param>
/// <param name="MaxAbsUpdate">The largest |update| of the step, where the plan measures it.</param>
/// <param name="NonFiniteGrads">Non-finite (NaN or infinite) gradient elements the step read, where the plan counts them (the step is not skipped).</param>
/// <param name="Fallbacks">Blocks that fell back to a wider format, where the plan has a fallback.</param>
public sealed record StepTelemetry(int Step, int Group, double WallMilliseconds, double? MaxAbsUpdate, long? NonFiniteGrads, long? Fallbacks)
{
    /// <inheritdoc />
    public override string ToString()
    {
        static string Show<T>(T? v) where T : struct, IFormattable => v is { } x ? x.ToString(null, CultureInfo.InvariantCulture) : "unavailable";
        return string.Create(CultureInfo.InvariantCulture,
            $"step {Step} group {Group}: {WallMilliseconds:F3} ms, max |update| {Show(MaxAbsUpdate)}, non-finite grads {Show(NonFiniteGrads)}, fallbacks {Show(Fallbacks)}");
    }
}

/// <summary>The readings a group's plan exposes after a step; null where it exposes nothing.</summary>
/// <param name="MaxAbsUpdate">The largest |update|.</param>
/// <param name="NonFiniteGrads">Non-finite gradient elements read.</param>
/// <param name="Fallbacks">Blocks that fell back to a wider format.</param>
public readonly record struct GroupReadings(double? MaxAbsUpdate, long? NonFiniteGrads, long? Fallbacks)
{
    /// <summary>A plan that exposes no readings.</summary>
    public static GroupReadings Unavailable => new(null, null, null);
}
