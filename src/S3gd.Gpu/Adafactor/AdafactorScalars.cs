using System.Runtime.InteropServices;

namespace S3gd.Gpu.Adafactor;

/// <summary>
/// The per-step scalars of Adafactor's kernels: computed on the host in float64 from the configuration and the step
/// number (as torch computes them in Python), then rounded once to float32.
/// </summary>
/// <param name="Weight">The moments' lerp weight t^beta2_decay (torch's one_minus_beta2_t).</param>
/// <param name="Rho">The relative step size min(lr, 1/sqrt(t)).</param>
/// <param name="Decay">The weight decay factor 1 - lr * weight_decay.</param>
/// <param name="Eps1">The floor of the row mean.</param>
/// <param name="Eps1Squared">The floor of V, eps1*eps1 formed in float64.</param>
/// <param name="Eps2">The floor of the parameter RMS.</param>
/// <param name="GradSign">-1 with maximize, else 1 (an exact product).</param>
[StructLayout(LayoutKind.Sequential)]
public readonly record struct AdafactorScalars(float Weight, float Rho, float Decay, float Eps1, float Eps1Squared, float Eps2, float GradSign)
{
    /// <summary>The scalars of step <paramref name="step"/> (1-based) with learning rate <paramref name="lr"/> (a schedule's value, else the configuration's).</summary>
    public static AdafactorScalars For(AdafactorConfig config, int step, double? lr = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentOutOfRangeException.ThrowIfLessThan(step, 1);
        var rate = lr ?? config.Lr;
        if (!(rate >= 0.0) || double.IsInfinity(rate))
            throw new ArgumentOutOfRangeException(nameof(lr), rate, $"the learning rate must be finite and >= 0, was {rate}");
        var t = (double)step;
        var eps1 = config.Eps1Value;
        return new((float)Math.Pow(t, config.Beta2Decay), (float)Math.Min(rate, 1.0 / Math.Pow(t, 0.5)), (float)(1.0 - rate * config.WeightDecay),
            (float)eps1, (float)(eps1 * eps1), (float)config.Eps2, config.Maximize ? -1.0f : 1.0f);
    }
}
