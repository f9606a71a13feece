using System.Runtime.InteropServices;
using S3gd.Spec.Formats;
using S3gd.Spec.Rules;

namespace S3gd.Gpu.Elementwise;

/// <summary>
/// The per-step scalars of the elementwise kernel, laid out as <c>struct StepScalars</c> in <c>elementwise.cu</c>.
/// Computed on the host in float64 from the configuration and the step number, then rounded once to float32
/// (to bf16 with bf16 maths, as the kernel's operands are bf16 there).
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
    int FirstStep,
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
        var h = config.Hypers;
        double Real(string name) => Hyper.getReal(h, name);
        bool Flag(string name) => Hyper.getFlag(h, name);
        var rate = lr ?? Real("lr");
        if (!(rate >= 0.0) || double.IsInfinity(rate))
            throw new ArgumentOutOfRangeException(nameof(lr), rate, "the learning rate must be finite and non-negative");
        var t = (double)step;
        var wd = Real("weight_decay");
        double decay = 1.0, beta1 = 0.0, omb1 = 0.0, beta2 = 0.0, omb2 = 0.0, stepSize = 0.0, invSqrtBc2 = 0.0;
        double nesterovM = 0.0, nesterovG = 0.0, eps = 0.0, beta3 = 0.0, omb3 = 0.0, alpha = 0.0, invBc1 = 0.0;
        switch (config.Rule)
        {
            case ElementwiseRule.Sgd:
                beta1 = Real("momentum");
                omb1 = 1.0 - Real("dampening");
                break;
            case ElementwiseRule.Adam:
                beta1 = Real("beta1");
                beta2 = Real("beta2");
                omb1 = 1.0 - beta1;
                omb2 = 1.0 - beta2;
                stepSize = rate / (1.0 - Math.Pow(beta1, t));
                invSqrtBc2 = 1.0 / Math.Sqrt(1.0 - Math.Pow(beta2, t));
                eps = Real("eps");
                decay = 1.0 - rate * wd;
                break;
            case ElementwiseRule.RmsProp:
                beta1 = Real("alpha");
                omb1 = 1.0 - beta1;
                beta2 = Real("momentum");
                eps = Real("eps");
                break;
            case ElementwiseRule.S3gd:
                beta1 = Real("beta");
                omb1 = 1.0 - beta1;
                decay = 1.0 - rate * EffectiveDecay(h, wd);
                break;
            case ElementwiseRule.Lion:
                beta1 = Real("beta1");
                beta2 = Real("beta2");
                omb1 = 1.0 - beta1;
                omb2 = 1.0 - beta2;
                decay = 1.0 - rate * EffectiveDecay(h, wd);
                break;
            case ElementwiseRule.Signum:
                beta1 = Real("momentum");
                omb1 = 1.0 - beta1;
                decay = 1.0 - wd * rate;
                var correct = Flag("correct_bias");
                var bc1 = correct ? 1.0 - Math.Pow(beta1, t) : 1.0;
                var bcn = correct ? 1.0 - Math.Pow(beta1, t + 1.0) : 1.0;
                nesterovM = beta1 / bcn;
                nesterovG = omb1 / bc1;
                break;
            case ElementwiseRule.LaProp:
            {
                beta1 = Real("beta1");
                beta2 = Real("beta2");
                omb1 = 1.0 - beta1;
                omb2 = 1.0 - beta2;
                var correctBias = Flag("correct_bias");
                stepSize = rate / (correctBias ? 1.0 - Math.Pow(beta1, t) : 1.0);
                invSqrtBc2 = 1.0 / Math.Sqrt(correctBias ? 1.0 - Math.Pow(beta2, t) : 1.0);
                eps = Real("eps");
                decay = 1.0 - wd * rate;
                break;
            }
            case ElementwiseRule.AdEMAMix:
            {
                beta1 = Real("beta_fast");
                beta2 = Real("beta2");
                omb1 = 1.0 - beta1;
                omb2 = 1.0 - beta2;
                beta3 = Schedules.linearHalfLife(step, Real("beta_slow"), beta1, Hyper.getWhole(h, "num_beta_slow_warmup_steps"));
                omb3 = 1.0 - beta3;
                alpha = Schedules.linear(step, Real("alpha"), 0.0, Hyper.getWhole(h, "num_alpha_warmup_steps"));
                var correctBias = Flag("correct_bias");
                invBc1 = 1.0 / (correctBias ? 1.0 - Math.Pow(beta1, t) : 1.0);
                invSqrtBc2 = 1.0 / Math.Sqrt(correctBias ? 1.0 - Math.Pow(beta2, t) : 1.0);
                eps = Real("eps");
                decay = 1.0 - wd * rate;
                break;
            }
            case ElementwiseRule.SimAdEMAMix:
            {
                beta1 = Schedules.linearHalfLife(step, Real("beta_fast"), Real("min_beta_fast"), Hyper.getWhole(h, "num_beta_fast_warmup_steps"));
                beta2 = Real("beta2");
                omb2 = 1.0 - beta2;
                alpha = Real("alpha");
                // bc1 = (1 - b^t) / (1 - b): the sum's weight after t steps.
                invBc1 = Flag("correct_bias") ? (1.0 - beta1) / (1.0 - Math.Pow(beta1, t)) : 1.0;
                invSqrtBc2 = 1.0 / Math.Sqrt(Flag("correct_bias") ? 1.0 - Math.Pow(beta2, t) : 1.0);
                eps = Real("eps");
                decay = 1.0 - wd * rate;
                break;
            }
            case ElementwiseRule.MAdam:
            {
                beta1 = Real("beta1");
                beta2 = Real("beta2");
                omb1 = 1.0 - beta1;
                omb2 = 1.0 - beta2;
                // c = 2^(scale_log2/2), exact: scale_log2 is even.
                alpha = Math.Pow(2.0, Hyper.getWhole(h, "scale_log2") / 2);
                var correctBias = Flag("correct_bias");
                invBc1 = 1.0 / (correctBias ? 1.0 - Math.Pow(beta1, t) : 1.0);
                invSqrtBc2 = 1.0 / Math.Sqrt(correctBias ? 1.0 - Math.Pow(beta2, t) : 1.0);
                decay = 1.0 - wd * rate;
                break;
            }
        }
        float R(double x) => (float)(config.MathBf16 ? Bf16.round(x) : x);
        return new StepScalars(
            R(rate), R(decay), R(wd), R(beta1), R(omb1), R(beta2), R(omb2), R(stepSize), R(invSqrtBc2),
            R(nesterovM), R(nesterovG), R(beta3), R(omb3), R(alpha), R(invBc1), R(eps), R(gradScale), step == 1 ? 1 : 0, seed, (uint)step);
    }

    /// <summary>S3GD's and Lion's decay: wd, or wd / initial_lr with decoupled_weight_decay (initial_lr 0 meaning the lr).</summary>
    private static double EffectiveDecay(Hypers h, double wd)
    {
        if (!Hyper.getFlag(h, "decoupled_weight_decay")) return wd;
        var initial = Hyper.getReal(h, "initial_lr");
        return wd / (initial == 0.0 ? Hyper.getReal(h, "lr") : initial);
    }
}
