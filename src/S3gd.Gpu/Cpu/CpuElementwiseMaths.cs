using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace S3gd.Gpu.Cpu;

/// <summary>
/// The arithmetic the CPU twin evaluates the kernel's step in: float32 one element at a time, float32 eight lanes at a
/// time (every lane the same IEEE operation, so the results are the scalar ones), or bf16 maths (each operation rounded),
/// one element or eight lanes at a time.
/// </summary>
/// <typeparam name="T">float or Vector256&lt;float&gt;.</typeparam>
internal interface ICpuMaths<T> where T : struct
{
    /// <summary>a*b, rounded as the maths rounds.</summary>
    static abstract T Mul(T a, T b);

    /// <summary>a+b, rounded.</summary>
    static abstract T Add(T a, T b);

    /// <summary>a/b, rounded.</summary>
    static abstract T Div(T a, T b);

    /// <summary>sqrt(a), rounded.</summary>
    static abstract T Root(T a);

    /// <summary>a*b+c as the kernel's madd: fused in float32, two roundings in bf16.</summary>
    static abstract T Madd(T a, T b, T c);

    /// <summary>-a (exact).</summary>
    static abstract T Neg(T a);

    /// <summary>fmaxf: the larger, ignoring a NaN operand.</summary>
    static abstract T Max(T a, T b);

    /// <summary>torch.sign as the kernel's sgn: -1, 0 or +1; a zero keeps its sign and NaN stays NaN.</summary>
    static abstract T Sign(T x);

    /// <summary>A loaded value as the maths sees it (rounded to bf16 in bf16 maths).</summary>
    static abstract T Load(T x);

    /// <summary>0 where <paramref name="m"/> is zero, else <paramref name="x"/> (MAdam's step).</summary>
    static abstract T ZeroWhereZero(T m, T x);

    /// <summary>A float32 scalar in every lane.</summary>
    static abstract T Broadcast(float x);
}

/// <summary>float32 maths, one element.</summary>
internal readonly struct ScalarMaths : ICpuMaths<float>
{
    public static float Mul(float a, float b) => a * b;
    public static float Add(float a, float b) => a + b;
    public static float Div(float a, float b) => a / b;
    public static float Root(float a) => MathF.Sqrt(a);
    public static float Madd(float a, float b, float c) => MathF.FusedMultiplyAdd(a, b, c);
    public static float Neg(float a) => -a;
    public static float Max(float a, float b) => float.MaxNumber(a, b);
    public static float Sign(float x) => x > 0.0f ? 1.0f : x < 0.0f ? -1.0f : x;
    public static float Load(float x) => x;
    public static float ZeroWhereZero(float m, float x) => m == 0.0f ? 0.0f : x;
    public static float Broadcast(float x) => x;
}

/// <summary>bf16 maths, one element: every operation's float32 result rounded to bf16 (as the kernel's rm).</summary>
internal readonly struct Bf16Maths : ICpuMaths<float>
{
    private static float R(float x) => CpuConvert.RoundBf16(x);
    public static float Mul(float a, float b) => R(a * b);
    public static float Add(float a, float b) => R(a + b);
    public static float Div(float a, float b) => R(a / b);
    public static float Root(float a) => R(MathF.Sqrt(a));
    public static float Madd(float a, float b, float c) => R(R(a * b) + c);
    public static float Neg(float a) => -a;
    public static float Max(float a, float b) => float.MaxNumber(a, b);
    public static float Sign(float x) => ScalarMaths.Sign(x);
    public static float Load(float x) => R(x);
    public static float ZeroWhereZero(float m, float x) => ScalarMaths.ZeroWhereZero(m, x);
    public static float Broadcast(float x) => x;
}

/// <summary>float32 maths, eight elements: lane for lane the scalar operations (FusedMultiplyAdd is fused per lane); each inlined into the step's loop.</summary>
internal readonly struct VectorMaths : ICpuMaths<Vector256<float>>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Mul(Vector256<float> a, Vector256<float> b) => a * b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Add(Vector256<float> a, Vector256<float> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Div(Vector256<float> a, Vector256<float> b) => a / b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Root(Vector256<float> a) => Vector256.Sqrt(a);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Madd(Vector256<float> a, Vector256<float> b, Vector256<float> c) => Vector256.FusedMultiplyAdd(a, b, c);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Neg(Vector256<float> a) => -a;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Max(Vector256<float> a, Vector256<float> b) => Vector256.MaxNumber(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Sign(Vector256<float> x)
    {
        var zero = Vector256<float>.Zero;
        return Vector256.ConditionalSelect(Vector256.GreaterThan(x, zero), Vector256<float>.One,
            Vector256.ConditionalSelect(Vector256.LessThan(x, zero), -Vector256<float>.One, x));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Load(Vector256<float> x) => x;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ZeroWhereZero(Vector256<float> m, Vector256<float> x) =>
        Vector256.ConditionalSelect(Vector256.Equals(m, Vector256<float>.Zero), Vector256<float>.Zero, x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Broadcast(float x) => Vector256.Create(x);
}

/// <summary>bf16 maths, eight elements: lane for lane <see cref="Bf16Maths"/> (each float32 result rounded to bf16 as one element is).</summary>
internal readonly struct VectorBf16Maths : ICpuMaths<Vector256<float>>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> R(Vector256<float> x) => CpuConvert.RoundBf16(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Mul(Vector256<float> a, Vector256<float> b) => R(a * b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Add(Vector256<float> a, Vector256<float> b) => R(a + b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Div(Vector256<float> a, Vector256<float> b) => R(a / b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Root(Vector256<float> a) => R(Vector256.Sqrt(a));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Madd(Vector256<float> a, Vector256<float> b, Vector256<float> c) => R(R(a * b) + c);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Neg(Vector256<float> a) => -a;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Max(Vector256<float> a, Vector256<float> b) => Vector256.MaxNumber(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Sign(Vector256<float> x) => VectorMaths.Sign(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Load(Vector256<float> x) => R(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ZeroWhereZero(Vector256<float> m, Vector256<float> x) => VectorMaths.ZeroWhereZero(m, x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Broadcast(float x) => Vector256.Create(x);
}
