using System.Runtime.CompilerServices;
using S3gd.Gpu.Elementwise;
using S3gd.Gpu.Maths;

namespace S3gd.Gpu.Rules;

/// <summary>torch.optim.RMSprop per element: the squared average, centered by the gradient average, with or without momentum.</summary>
/// <typeparam name="TCentered">centered (slot 2 is grad_avg).</typeparam>
/// <typeparam name="TMomentum">momentum &gt; 0 (slot 1 is momentum_buffer).</typeparam>
public readonly struct RmsPropStep<TCentered, TMomentum> : IElementwiseRule
    where TCentered : struct, IFlag
    where TMomentum : struct, IFlag
{
    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Step<T, M>(in ElementwiseScalars<T, M> sc, ref T p, T g, ref T s0, ref T s1, ref T s2)
        where T : struct
        where M : struct, IMaths<T>
    {
        M m = default;
        // torch: square_avg.mul_(alpha).addcmul_(grad, grad, value=1 - alpha).
        s0 = TorchOps.Addcmul<T, M>(m.Mul(s0, sc.Beta1), g, g, sc.OneMinusBeta1);
        T avg;
        if (default(TCentered).IsOn)
        {
            // grad_avg.lerp_(grad, 1 - alpha); square_avg.addcmul(grad_avg, grad_avg, value=-1).sqrt_().
            s2 = TorchOps.Lerp<T, M>(s2, g, sc.OneMinusBeta1, sc.One, sc.LerpFromEnd);
            avg = m.Add(m.Root(m.Madd(m.Neg(s2), s2, s0)), sc.Eps);
        }
        else avg = m.Add(m.Root(s0), sc.Eps);
        if (default(TMomentum).IsOn)
        {
            // buf.mul_(momentum).addcdiv_(grad, avg); param.add_(buf, alpha=-lr).
            s1 = m.Add(m.Mul(s1, sc.Beta2), m.Div(g, avg));
            p = TorchOps.AddAlpha<T, M>(p, s1, sc.NegLr);
        }
        else p = TorchOps.Addcdiv<T, M>(p, g, avg, sc.NegLr);
    }
}

/// <summary>RMSprop's host side: slots square_avg, momentum_buffer, grad_avg; beta1 = alpha, beta2 = momentum; coupled decay.</summary>
public sealed class RmsPropRule : ElementwiseRuleDefinition
{
    /// <inheritdoc />
    public override IReadOnlyList<string?> SlotNames { get; } = ["square_avg", "momentum_buffer", "grad_avg"];

    /// <inheritdoc />
    public override ElementwiseChoice Choose(string name, HyperSet h)
    {
        var centered = h.Flag("centered");
        var momentum = h.Real("momentum") > 0.0;
        return ElementwiseChoice.Torch(Specialise(typeof(RmsPropStep<,>), centered, momentum), [true, momentum, centered], h);
    }

    /// <inheritdoc />
    public override void Scalars(string name, HyperSet h, int step, double lr, StepScalarValues v)
    {
        v.Wd = h.Real("weight_decay");
        v.Beta1 = h.Real("alpha");
        v.OneMinusBeta1 = 1.0 - v.Beta1;
        v.LerpWeight = v.OneMinusBeta1;
        v.Beta2 = h.Real("momentum");
        v.Eps = h.Real("eps");
    }
}
