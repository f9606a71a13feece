using System.Runtime.InteropServices;
using S3gd.Spec.Rules;

namespace S3gd.Gpu.Structured;

/// <summary>
/// The per-step scalars of the structured kernels (<see cref="Kernels.StructuredArgs"/>): computed on the host in
/// float64 from the configuration and the step number, then rounded once to float32.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public readonly record struct StructuredScalars(
    float Lr,
    float Beta1,
    float OneMinusBeta1,
    float Beta2,
    float OneMinusBeta2,
    float Eps,
    float EpsSquared,
    float WeightDecay,
    float Decay,
    float StepSize,
    float InvSqrtBc2)
{
    /// <summary>
    /// The scalars of step <paramref name="step"/> (1-based) of a configuration; the learning rate is the configuration's
    /// unless <paramref name="lr"/> gives this step's. StableAdamW: the debiased betas of step t (optimi), eps^2 (the floor
    /// of v in the RMS) and the decay's weight (wd, or wd/max_lr with decouple_lr); its clipped lr and decay factor are
    /// made on the device. Adam-mini: the decay factor 1 - lr*wd, lr/(1 - beta1^t) and 1/sqrt(1 - beta2^t).
    /// </summary>
    public static StructuredScalars For(StructuredConfig config, int step, double? lr = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentOutOfRangeException.ThrowIfLessThan(step, 1);
        var h = config.Hypers;
        double Real(string name) => h.Real(name);
        var rate = lr ?? Real("lr");
        if (!(rate >= 0.0) || double.IsInfinity(rate))
            throw new ArgumentOutOfRangeException(nameof(lr), rate, "the learning rate must be finite and non-negative");
        var wd = Real("weight_decay");
        var eps = Real("eps");
        if (config.Rule == StructuredRule.StableAdamW)
        {
            var b1 = StableAdamW.debiasBeta(Real("beta1"), step);
            var b2 = StableAdamW.debiasBeta(Real("beta2"), step);
            var maxLr = Real("max_lr") > 0.0 ? Real("max_lr") : Real("lr");
            var weight = h.Flag("decouple_lr") ? (maxLr > 0.0 ? wd / maxLr : 0.0) : wd;
            return new((float)rate, (float)b1, (float)(1.0 - b1), (float)b2, (float)(1.0 - b2), (float)eps, (float)(eps * eps),
                (float)weight, 1.0f, 0.0f, 0.0f);
        }
        var beta1 = Real("beta1");
        var beta2 = Real("beta2");
        var t = (double)step;
        return new((float)rate, (float)beta1, (float)(1.0 - beta1), (float)beta2, (float)(1.0 - beta2), (float)eps, (float)(eps * eps),
            (float)wd, (float)(1.0 - rate * wd), (float)(rate / (1.0 - Math.Pow(beta1, t))), (float)(1.0 / Math.Sqrt(1.0 - Math.Pow(beta2, t))));
    }
}
