using System.Runtime.InteropServices;
using S3gd.Spec.Formats;
using S3gd.Spec.Rules;

namespace S3gd.Gpu.Elementwise;

/// <summary>
/// The per-step scalars of an elementwise step, a kernel argument (<see cref="ElementwiseScalars{T, M}"/> broadcasts them).
/// Computed on the host in float64 by the rule's definition from the hyperparameters and the step number, then rounded
/// once to float32 (to bf16 with bf16 maths, as the maths' operands are bf16 there).
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public readonly record struct StepScalars(
    float Lr,
    float Decay,
    float Wd,
    float Beta1,
    float OneMinusBeta1,
    float Beta2,
    float OneMinusBeta2,
    float StepSize,
    float InvSqrtBc2,
    float NesterovM,
    float NesterovG,
    float Beta3,
    float OneMinusBeta3,
    float Alpha,
    float InvBc1,
    float Eps,
    float GradScale,
    float Bc1,
    float Bc2,
    float SqrtBc2,
    int FirstStep,
    int LerpFromEnd,
    int Branch,
    uint Seed = 0,
    uint Step = 0)
{
    /// <summary>
    /// The scalars of step <paramref name="step"/> (1-based: the step being taken) of a configuration; the learning
    /// rate is the configuration's unless <paramref name="lr"/> gives this step's (a schedule); the gradient is
    /// divided by <paramref name="gradScale"/> when the configuration has <see cref="ElementwiseConfig.GradScale"/>.
    /// <paramref name="seed"/> seeds stochastic rounding (<see cref="ParamUpdate.Stochastic"/>), together with the step.
    /// </summary>
    public static StepScalars For(ElementwiseConfig config, int step, double? lr = null, double gradScale = 1.0, uint seed = 0)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentOutOfRangeException.ThrowIfLessThan(step, 1);
        if (!(gradScale > 0.0) || double.IsInfinity(gradScale))
            throw new ArgumentOutOfRangeException(nameof(gradScale), gradScale, "the gradient scale must be finite and positive");
        var rate = lr ?? config.Hypers.Real("lr");
        if (!(rate >= 0.0) || double.IsInfinity(rate))
            throw new ArgumentOutOfRangeException(nameof(lr), rate, "the learning rate must be finite and non-negative");
        var v = new StepScalarValues { Lr = rate };
        config.Definition.Scalars(config.RuleInfo.Name, config.Hypers, step, rate, v);
        float R(double x) => (float)(config.MathBf16 ? Bf16.round(x) : x);
        // torch's lerp takes its second form from a weight of 0.5 on (ATen's is_lerp_weight_small, on the rounded weight).
        static bool LerpFromEnd(float weight) => !(Math.Abs(weight) < 0.5f);
        return new StepScalars(
            R(v.Lr), R(v.Decay), R(v.Wd), R(v.Beta1), R(v.OneMinusBeta1), R(v.Beta2), R(v.OneMinusBeta2), R(v.StepSize), R(v.InvSqrtBc2),
            R(v.NesterovM), R(v.NesterovG), R(v.Beta3), R(v.OneMinusBeta3), R(v.Alpha), R(v.InvBc1), R(v.Eps), R(gradScale),
            R(v.Bc1), R(v.Bc2), R(v.SqrtBc2), step == 1 ? 1 : 0, LerpFromEnd(R(v.LerpWeight)) ? 1 : 0, v.Branch ? 1 : 0, seed, (uint)step);
    }
}
