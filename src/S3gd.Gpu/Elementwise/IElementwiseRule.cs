using System.Runtime.CompilerServices;
using S3gd.Gpu.Maths;

namespace S3gd.Gpu.Elementwise;

/// <summary>
/// A rule's maths for one element (or one vector of lanes), after the gradient's preparation: the one definition every
/// backend runs (ILGPU kernels on CUDA and on the CPU accelerator, the CPU backend's vectors, the conformance bound).
/// Implemented by a struct whose options are type parameters (<see cref="IFlag"/>), called as <c>default(R).Step</c>.
/// </summary>
public interface IElementwiseRule
{
    /// <summary>Updates p and the three state slots from the prepared gradient g (unused slots are ignored).</summary>
    void Step<T, M>(in ElementwiseScalars<T, M> sc, ref T p, T g, ref T s0, ref T s1, ref T s2)
        where T : struct
        where M : struct, IMaths<T>;
}

/// <summary>What every elementwise rule does to the gradient (and, decoupled, to the parameter) before its own maths.</summary>
public interface IGradientPrep
{
    /// <summary>Scales, negates and decays g, and decays p, as the options say.</summary>
    void Prepare<T, M>(in ElementwiseScalars<T, M> sc, ref T p, ref T g)
        where T : struct
        where M : struct, IMaths<T>;
}

/// <summary>
/// The gradient's preparation: g / grad_scale (<typeparamref name="TScale"/>), -g (maximize), g + wd*p (coupled decay),
/// then p * (1 - lr*wd) (decoupled decay), in this order.
/// </summary>
public readonly struct GradientPrep<TScale, TMaximize, TCoupled, TDecoupled> : IGradientPrep
    where TScale : struct, IFlag
    where TMaximize : struct, IFlag
    where TCoupled : struct, IFlag
    where TDecoupled : struct, IFlag
{
    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Prepare<T, M>(in ElementwiseScalars<T, M> sc, ref T p, ref T g)
        where T : struct
        where M : struct, IMaths<T>
    {
        M m = default;
        if (default(TScale).IsOn) g = m.Div(g, sc.GradScale);
        if (default(TMaximize).IsOn) g = m.Neg(g);
        if (default(TCoupled).IsOn) g = m.Madd(sc.Wd, p, g);
        if (default(TDecoupled).IsOn) p = m.Mul(p, sc.Decay);
    }
}

/// <summary>One element's whole step: the gradient's preparation, then the rule.</summary>
public static class ElementwiseStep
{
    /// <summary>Prepares g (and decays p), then runs the rule's maths.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Element<T, M, TPrep, TRule>(in ElementwiseScalars<T, M> sc, ref T p, T g, ref T s0, ref T s1, ref T s2)
        where T : struct
        where M : struct, IMaths<T>
        where TPrep : struct, IGradientPrep
        where TRule : struct, IElementwiseRule
    {
        default(TPrep).Prepare(sc, ref p, ref g);
        default(TRule).Step(sc, ref p, g, ref s0, ref s1, ref s2);
    }
}
