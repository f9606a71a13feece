using System.Runtime.CompilerServices;
using S3gd.Gpu.Elementwise;
using S3gd.Gpu.Maths;

namespace S3gd.Gpu.Rules;

/// <summary>torch.optim.SGD per element: buf &lt;- g on the first step, else momentum*buf + (1 - dampening)*g; Nesterov g + momentum*buf; p -= lr*d.</summary>
/// <typeparam name="TMomentum">momentum != 0 (slot 0 is momentum_buffer).</typeparam>
/// <typeparam name="TNesterov">nesterov.</typeparam>
public readonly struct SgdStep<TMomentum, TNesterov> : IElementwiseRule
    where TMomentum : struct, IFlag
    where TNesterov : struct, IFlag
{
    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Step<T, M>(in ElementwiseScalars<T, M> sc, ref T p, T g, ref T s0, ref T s1, ref T s2)
        where T : struct
        where M : struct, IMaths<T>
    {
        M m = default;
        var d = g;
        if (default(TMomentum).IsOn)
        {
            // torch: buf.mul_(momentum).add_(grad, alpha=1 - dampening); nesterov: grad.add(buf, alpha=momentum).
            s0 = sc.FirstStep ? g : TorchOps.AddAlpha<T, M>(m.Mul(s0, sc.Beta1), g, sc.OneMinusBeta1);
            d = default(TNesterov).IsOn ? TorchOps.AddAlpha<T, M>(g, s0, sc.Beta1) : s0;
        }
        p = TorchOps.AddAlpha<T, M>(p, d, sc.NegLr);
    }
}

/// <summary>SGD's host side: slot momentum_buffer, coupled weight decay; beta1 = momentum, 1 - beta1 = 1 - dampening.</summary>
public sealed class SgdRule : ElementwiseRuleDefinition
{
    /// <inheritdoc />
    public override IReadOnlyList<string?> SlotNames { get; } = ["momentum_buffer", null, null];

    /// <inheritdoc />
    public override ElementwiseChoice Choose(string name, HyperSet h)
    {
        var momentum = h.Real("momentum") != 0.0;
        return ElementwiseChoice.Torch(Specialise(typeof(SgdStep<,>), momentum, h.Flag("nesterov")), [momentum, false, false], h);
    }

    /// <inheritdoc />
    public override void Scalars(string name, HyperSet h, int step, double lr, StepScalarValues v)
    {
        v.Wd = h.Real("weight_decay");
        v.Beta1 = h.Real("momentum");
        v.OneMinusBeta1 = 1.0 - h.Real("dampening");
    }
}
