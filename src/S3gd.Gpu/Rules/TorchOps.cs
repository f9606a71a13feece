using System.Runtime.CompilerServices;
using S3gd.Gpu.Maths;

namespace S3gd.Gpu.Rules;

/// <summary>
/// torch's float32 tensor operations rounded as ATen's CPU kernels round them (measured on torch 2.11, AVX-512 vectors and
/// the scalar tails alike: tools/golden/make_fp32_golden.py's single-operation probe), so a rule written with them
/// reproduces torch.optim's float32 steps bit for bit. Scalars are torch's Python floats rounded once to float32.
/// </summary>
public static class TorchOps
{
    /// <summary><c>a.add(b, alpha=alpha)</c>: b*alpha + a, one fused rounding.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T AddAlpha<T, M>(T a, T b, T alpha)
        where T : struct
        where M : struct, IMaths<T> => default(M).Madd(b, alpha, a);

    /// <summary>
    /// <c>start.lerp(end, weight)</c>: start + weight*(end - start) fused while |weight| &lt; 0.5, else
    /// end - (1 - weight)*(end - start) fused (<paramref name="fromEnd"/>, ATen's two forms).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Lerp<T, M>(T start, T end, T weight, T one, bool fromEnd)
        where T : struct
        where M : struct, IMaths<T>
    {
        M m = default;
        var diff = m.Add(end, m.Neg(start));
        return fromEnd ? m.Madd(m.Neg(m.Add(one, m.Neg(weight))), diff, end) : m.Madd(weight, diff, start);
    }

    /// <summary><c>self.addcmul(t1, t2, value=value)</c>: (value*t1) rounded, then *t2 + self fused.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Addcmul<T, M>(T self, T t1, T t2, T value)
        where T : struct
        where M : struct, IMaths<T>
    {
        M m = default;
        return m.Madd(m.Mul(value, t1), t2, self);
    }

    /// <summary><c>self.addcdiv(t1, t2, value=value)</c>: self + (value*t1)/t2, each operation rounded.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Addcdiv<T, M>(T self, T t1, T t2, T value)
        where T : struct
        where M : struct, IMaths<T>
    {
        M m = default;
        return m.Add(self, m.Div(m.Mul(value, t1), t2));
    }
}
