using System.Runtime.CompilerServices;
using S3gd.Gpu.Elementwise;
using S3gd.Gpu.Maths;

namespace S3gd.Gpu.Rules;

/// <summary>Signum per element: m &lt;- beta*m + (1 - beta)*g; p -= lr*sign(m) (Nesterov: of its bias-corrected look-ahead).</summary>
/// <typeparam name="TNesterov">nesterov.</typeparam>
public readonly struct SignumStep<TNesterov> : IElementwiseRule
    where TNesterov : struct, IFlag
{
    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Step<T, M>(in ElementwiseScalars<T, M> sc, ref T p, T g, ref T s0, ref T s1, ref T s2)
        where T : struct
        where M : struct, IMaths<T>
    {
        M m = default;
        s0 = m.Madd(sc.Beta1, s0, m.Mul(sc.OneMinusBeta1, g));
        var u = default(TNesterov).IsOn ? m.Sign(m.Madd(sc.NesterovM, s0, m.Mul(sc.NesterovG, g))) : m.Sign(s0);
        p = m.Madd(sc.NegLr, u, p);
    }
}

/// <summary>Signum's host side: slot exp_avg, beta1 = momentum, decoupled decay; use_shape_scaling is not fused.</summary>
public sealed class SignumRule : ElementwiseRuleDefinition
{
    /// <inheritdoc />
    public override IReadOnlyList<string?> SlotNames { get; } = ["exp_avg", null, null];

    /// <inheritdoc />
    public override ElementwiseChoice Choose(string name, HyperSet h)
    {
        if (h.Flag("use_shape_scaling"))
            throw new ArgumentException("rule signum: use_shape_scaling=true is not supported by the fused elementwise kernel", nameof(h));
        return new(Specialise(typeof(SignumStep<>), h.Flag("nesterov")), [true, false, false], WeightDecayDecoupled: h.Real("weight_decay") != 0.0);
    }

    /// <inheritdoc />
    public override void Scalars(string name, HyperSet h, int step, double lr, StepScalarValues v)
    {
        v.Beta1 = h.Real("momentum");
        v.OneMinusBeta1 = 1.0 - v.Beta1;
        v.Decay = 1.0 - h.Real("weight_decay") * lr;
        var correct = h.Flag("correct_bias");
        var bc1 = correct ? 1.0 - Math.Pow(v.Beta1, step) : 1.0;
        var bcn = correct ? 1.0 - Math.Pow(v.Beta1, step + 1.0) : 1.0;
        v.NesterovM = v.Beta1 / bcn;
        v.NesterovG = v.OneMinusBeta1 / bc1;
    }
}
