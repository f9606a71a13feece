namespace S3gd.Gpu.Optimizers;

/// <summary>
/// Learning-rate schedules as plain functions from the step being taken (1-based) to its learning rate, composable by
/// nesting (<c>LinearWarmup(100, Cosine(1e-3, 10_000))</c>); a group applies its own (<see cref="ParamGroup.Schedule"/>).
/// </summary>
public static class Schedules
{
    /// <summary>The same learning rate at every step.</summary>
    public static Func<int, double> Constant(double lr)
    {
        CheckRate(lr, nameof(lr));
        return _ => lr;
    }

    /// <summary>
    /// <paramref name="then"/> scaled by step/warmupSteps for the first <paramref name="warmupSteps"/> steps (reaching it
    /// at step warmupSteps), <paramref name="then"/> itself afterwards; 0 warm-up steps is <paramref name="then"/>.
    /// </summary>
    public static Func<int, double> LinearWarmup(int warmupSteps, Func<int, double> then)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(warmupSteps);
        ArgumentNullException.ThrowIfNull(then);
        return step => step < warmupSteps ? then(step) * step / warmupSteps : then(step);
    }

    /// <summary>
    /// Cosine decay from <paramref name="peak"/> at step 0 to <paramref name="minimum"/> at step
    /// <paramref name="totalSteps"/>, held at the minimum afterwards: min + (peak - min)(1 + cos(pi t / T))/2.
    /// </summary>
    public static Func<int, double> Cosine(double peak, int totalSteps, double minimum = 0.0)
    {
        CheckRate(peak, nameof(peak));
        CheckRate(minimum, nameof(minimum));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(totalSteps);
        if (minimum > peak) throw new ArgumentException($"minimum={minimum} exceeds peak={peak}", nameof(minimum));
        return step => minimum + (peak - minimum) * 0.5 * (1.0 + Math.Cos(Math.PI * Math.Clamp(step, 0, totalSteps) / totalSteps));
    }

    private static void CheckRate(double lr, string name)
    {
        if (!double.IsFinite(lr) || lr < 0.0) throw new ArgumentOutOfRangeException(name, lr, "a learning rate must be finite and non-negative");
    }
}
