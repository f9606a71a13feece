using System.Runtime.CompilerServices;
using S3gd.Gpu.Elementwise;

namespace S3gd.Gpu.Cpu;

/// <summary>
/// Each rule's part of the kernel's step_element (after the gradient's scale, sign and coupled decay and the decoupled
/// decay), operation for operation, as a type: the step loops are compiled per rule, so a loop's body holds one rule's
/// operations, inlined with the maths' eight-lane operations rather than called once per vector.
/// </summary>
public static partial class CpuElementwise
{
    /// <summary>One rule's update of an element (or eight lanes) in the maths M.</summary>
    private interface IRuleStep
    {
        /// <summary>The rule's update of p and its states from the prepared gradient g.</summary>
        static abstract void Step<T, M>(ElementwiseConfig c, in Scalars<T> sc, ref T p, T g, ref T s0, ref T s1, ref T s2)
            where T : struct
            where M : ICpuMaths<T>;
    }

    /// <summary>The configuration's rule over a piece (the loops compiled for that rule).</summary>
    private static void StepMaths(ElementwiseConfig c, Broadcasts b, Span<float> p, Span<float> g, Span<float> s0, Span<float> s1, Span<float> s2)
    {
        switch (c.Rule)
        {
            case ElementwiseRule.Sgd: StepRule<SgdStep>(c, b, p, g, s0, s1, s2); break;
            case ElementwiseRule.Adam: StepRule<AdamStep>(c, b, p, g, s0, s1, s2); break;
            case ElementwiseRule.RmsProp: StepRule<RmsPropStep>(c, b, p, g, s0, s1, s2); break;
            case ElementwiseRule.S3gd: StepRule<S3gdStep>(c, b, p, g, s0, s1, s2); break;
            case ElementwiseRule.Lion: StepRule<LionStep>(c, b, p, g, s0, s1, s2); break;
            case ElementwiseRule.Signum: StepRule<SignumStep>(c, b, p, g, s0, s1, s2); break;
            case ElementwiseRule.LaProp: StepRule<LaPropStep>(c, b, p, g, s0, s1, s2); break;
            case ElementwiseRule.AdEMAMix: StepRule<AdEMAMixStep>(c, b, p, g, s0, s1, s2); break;
            case ElementwiseRule.MAdam: StepRule<MAdamStep>(c, b, p, g, s0, s1, s2); break;
            case ElementwiseRule.SimAdEMAMix: StepRule<SimAdEMAMixStep>(c, b, p, g, s0, s1, s2); break;
            default: throw new ArgumentOutOfRangeException(nameof(c), c.Rule, "the CPU twin has no step for this rule");
        }
    }

    /// <summary>SGD: momentum (the first step takes g), Nesterov, p -= lr d.</summary>
    private readonly struct SgdStep : IRuleStep
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Step<T, M>(ElementwiseConfig c, in Scalars<T> sc, ref T p, T g, ref T s0, ref T s1, ref T s2)
            where T : struct
            where M : ICpuMaths<T>
        {
            var d = g;
            if (c.Momentum)
            {
                s0 = sc.FirstStep ? g : M.Madd(sc.Beta1, s0, M.Mul(sc.OneMinusBeta1, g));
                d = c.Nesterov ? M.Madd(sc.Beta1, s0, g) : s0;
            }
            p = M.Madd(sc.NegLr, d, p);
        }
    }

    /// <summary>Adam/AdamW: both moments, AMSGrad's running maximum, the bias-corrected step.</summary>
    private readonly struct AdamStep : IRuleStep
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Step<T, M>(ElementwiseConfig c, in Scalars<T> sc, ref T p, T g, ref T s0, ref T s1, ref T s2)
            where T : struct
            where M : ICpuMaths<T>
        {
            s0 = M.Madd(sc.Beta1, s0, M.Mul(sc.OneMinusBeta1, g));
            s1 = M.Madd(sc.Beta2, s1, M.Mul(sc.OneMinusBeta2, M.Mul(g, g)));
            var v = s1;
            if (c.Amsgrad)
            {
                s2 = M.Max(s2, s1);
                v = s2;
            }
            var denom = M.Madd(M.Root(v), sc.InvSqrtBc2, sc.Eps);
            p = M.Madd(sc.NegStepSize, M.Div(s0, denom), p);
        }
    }

    /// <summary>RMSprop: the squared average, centered, momentum.</summary>
    private readonly struct RmsPropStep : IRuleStep
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Step<T, M>(ElementwiseConfig c, in Scalars<T> sc, ref T p, T g, ref T s0, ref T s1, ref T s2)
            where T : struct
            where M : ICpuMaths<T>
        {
            s0 = M.Madd(sc.Beta1, s0, M.Mul(sc.OneMinusBeta1, M.Mul(g, g)));
            T avg;
            if (c.Centered)
            {
                s2 = M.Madd(sc.Beta1, s2, M.Mul(sc.OneMinusBeta1, g));
                avg = M.Add(M.Root(M.Madd(M.Neg(s2), s2, s0)), sc.Eps);
            }
            else avg = M.Add(M.Root(s0), sc.Eps);
            if (c.Momentum)
            {
                s1 = M.Madd(sc.Beta2, s1, M.Div(g, avg));
                p = M.Madd(sc.NegLr, s1, p);
            }
            else p = M.Madd(sc.NegLr, M.Div(g, avg), p);
        }
    }

    /// <summary>Smoothed SignSGD: the momentum of sign(g).</summary>
    private readonly struct S3gdStep : IRuleStep
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Step<T, M>(ElementwiseConfig c, in Scalars<T> sc, ref T p, T g, ref T s0, ref T s1, ref T s2)
            where T : struct
            where M : ICpuMaths<T>
        {
            s0 = M.Madd(sc.Beta1, s0, M.Mul(sc.OneMinusBeta1, M.Sign(g)));
            p = M.Madd(sc.NegLr, s0, p);
        }
    }

    /// <summary>Lion: the sign of the interpolation, then the momentum.</summary>
    private readonly struct LionStep : IRuleStep
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Step<T, M>(ElementwiseConfig c, in Scalars<T> sc, ref T p, T g, ref T s0, ref T s1, ref T s2)
            where T : struct
            where M : ICpuMaths<T>
        {
            var u = M.Sign(M.Madd(sc.Beta1, s0, M.Mul(sc.OneMinusBeta1, g)));
            p = M.Madd(sc.NegLr, u, p);
            s0 = M.Madd(sc.Beta2, s0, M.Mul(sc.OneMinusBeta2, g));
        }
    }

    /// <summary>Signum: the sign of the momentum (Nesterov: of its look-ahead).</summary>
    private readonly struct SignumStep : IRuleStep
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Step<T, M>(ElementwiseConfig c, in Scalars<T> sc, ref T p, T g, ref T s0, ref T s1, ref T s2)
            where T : struct
            where M : ICpuMaths<T>
        {
            s0 = M.Madd(sc.Beta1, s0, M.Mul(sc.OneMinusBeta1, g));
            var u = c.Nesterov ? M.Sign(M.Madd(sc.NesterovM, s0, M.Mul(sc.NesterovG, g))) : M.Sign(s0);
            p = M.Madd(sc.NegLr, u, p);
        }
    }

    /// <summary>LaProp: the momentum of the normalised gradient.</summary>
    private readonly struct LaPropStep : IRuleStep
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Step<T, M>(ElementwiseConfig c, in Scalars<T> sc, ref T p, T g, ref T s0, ref T s1, ref T s2)
            where T : struct
            where M : ICpuMaths<T>
        {
            s1 = M.Madd(sc.Beta2, s1, M.Mul(sc.OneMinusBeta2, M.Mul(g, g)));
            var denom = M.Madd(M.Root(s1), sc.InvSqrtBc2, sc.Eps);
            s0 = M.Madd(sc.Beta1, s0, M.Mul(sc.OneMinusBeta1, M.Div(g, denom)));
            p = M.Madd(sc.NegStepSize, s0, p);
        }
    }

    /// <summary>AdEMAMix: the fast and slow momenta over the second moment.</summary>
    private readonly struct AdEMAMixStep : IRuleStep
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Step<T, M>(ElementwiseConfig c, in Scalars<T> sc, ref T p, T g, ref T s0, ref T s1, ref T s2)
            where T : struct
            where M : ICpuMaths<T>
        {
            var fast = g;
            if (!c.FastIsGrad)
            {
                s0 = M.Madd(sc.Beta1, s0, M.Mul(sc.OneMinusBeta1, g));
                fast = s0;
            }
            s1 = M.Madd(sc.Beta3, s1, M.Mul(sc.OneMinusBeta3, g));
            s2 = M.Madd(sc.Beta2, s2, M.Mul(sc.OneMinusBeta2, M.Mul(g, g)));
            var denom = M.Madd(M.Root(s2), sc.InvSqrtBc2, sc.Eps);
            p = M.Madd(sc.NegLr, M.Div(M.Madd(sc.Alpha, s1, M.Mul(fast, sc.InvBc1)), denom), p);
        }
    }

    /// <summary>MAdam: the scaled gradient's moments; no step where the momentum is zero.</summary>
    private readonly struct MAdamStep : IRuleStep
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Step<T, M>(ElementwiseConfig c, in Scalars<T> sc, ref T p, T g, ref T s0, ref T s1, ref T s2)
            where T : struct
            where M : ICpuMaths<T>
        {
            s0 = M.Madd(sc.Beta1, s0, M.Mul(sc.OneMinusBeta1, g));
            var cg = M.Mul(g, sc.Alpha);
            s1 = M.Madd(sc.Beta2, s1, M.Mul(sc.OneMinusBeta2, M.Mul(cg, cg)));
            var u = M.Mul(M.Div(M.Mul(s0, sc.InvBc1), M.Mul(M.Root(s1), sc.InvSqrtBc2)), sc.Alpha);
            p = M.Madd(sc.NegLr, M.ZeroWhereZero(s0, u), p);
        }
    }

    /// <summary>Simplified AdEMAMix: the accumulated momentum plus alpha times g.</summary>
    private readonly struct SimAdEMAMixStep : IRuleStep
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Step<T, M>(ElementwiseConfig c, in Scalars<T> sc, ref T p, T g, ref T s0, ref T s1, ref T s2)
            where T : struct
            where M : ICpuMaths<T>
        {
            s0 = M.Madd(sc.Beta1, s0, g);
            s1 = M.Madd(sc.Beta2, s1, M.Mul(sc.OneMinusBeta2, M.Mul(g, g)));
            var denom = M.Madd(M.Root(s1), sc.InvSqrtBc2, sc.Eps);
            p = M.Madd(sc.NegLr, M.Div(M.Madd(sc.Alpha, g, M.Mul(s0, sc.InvBc1)), denom), p);
        }
    }
}
