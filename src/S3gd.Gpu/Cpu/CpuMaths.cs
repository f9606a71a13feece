using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using S3gd.Gpu.Maths;

namespace S3gd.Gpu.Cpu;

/// <summary>float32 maths, one element, in managed code (the CPU backend's tails; ILGPU's CPU accelerator).</summary>
public readonly struct ScalarMaths : IMaths<float>
{
    /// <inheritdoc />
    public float Mul(float a, float b) => a * b;

    /// <inheritdoc />
    public float Add(float a, float b) => a + b;

    /// <inheritdoc />
    public float Div(float a, float b) => a / b;

    /// <inheritdoc />
    public float Root(float a) => MathF.Sqrt(a);

    /// <inheritdoc />
    public float Madd(float a, float b, float c) => MathF.FusedMultiplyAdd(a, b, c);

    /// <inheritdoc />
    public float Neg(float a) => -a;

    /// <inheritdoc />
    public float Max(float a, float b) => float.MaxNumber(a, b);

    /// <inheritdoc />
    public float Sign(float x) => x > 0.0f ? 1.0f : x < 0.0f ? -1.0f : x;

    /// <inheritdoc />
    public float Load(float x) => x;

    /// <inheritdoc />
    public float ZeroWhereZero(float m, float x) => m == 0.0f ? 0.0f : x;

    /// <inheritdoc />
    public float WhereLess(float a, float b, float x, float y) => a < b ? x : y;

    /// <inheritdoc />
    public float Broadcast(float x) => x;
}

/// <summary>bf16 maths, one element: every operation's float32 result rounded to bf16.</summary>
public readonly struct Bf16Maths : IMaths<float>
{
    private static float R(float x) => Kernels.SoftwareConvert.RoundBf16(x);

    /// <inheritdoc />
    public float Mul(float a, float b) => R(a * b);

    /// <inheritdoc />
    public float Add(float a, float b) => R(a + b);

    /// <inheritdoc />
    public float Div(float a, float b) => R(a / b);

    /// <inheritdoc />
    public float Root(float a) => R(MathF.Sqrt(a));

    /// <inheritdoc />
    public float Madd(float a, float b, float c) => R(R(a * b) + c);

    /// <inheritdoc />
    public float Neg(float a) => -a;

    /// <inheritdoc />
    public float Max(float a, float b) => float.MaxNumber(a, b);

    /// <inheritdoc />
    public float Sign(float x) => default(ScalarMaths).Sign(x);

    /// <inheritdoc />
    public float Load(float x) => R(x);

    /// <inheritdoc />
    public float ZeroWhereZero(float m, float x) => default(ScalarMaths).ZeroWhereZero(m, x);

    /// <inheritdoc />
    public float WhereLess(float a, float b, float x, float y) => default(ScalarMaths).WhereLess(a, b, x, y);

    /// <inheritdoc />
    public float Broadcast(float x) => x;
}

/// <summary>float32 maths, eight lanes: lane for lane the scalar operations (FusedMultiplyAdd is fused per lane).</summary>
public readonly struct VectorMaths : IMaths<Vector256<float>>
{
    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<float> Mul(Vector256<float> a, Vector256<float> b) => a * b;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<float> Add(Vector256<float> a, Vector256<float> b) => a + b;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<float> Div(Vector256<float> a, Vector256<float> b) => a / b;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<float> Root(Vector256<float> a) => Vector256.Sqrt(a);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<float> Madd(Vector256<float> a, Vector256<float> b, Vector256<float> c) => Vector256.FusedMultiplyAdd(a, b, c);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<float> Neg(Vector256<float> a) => -a;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<float> Max(Vector256<float> a, Vector256<float> b) => Vector256.MaxNumber(a, b);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<float> Sign(Vector256<float> x)
    {
        var zero = Vector256<float>.Zero;
        return Vector256.ConditionalSelect(Vector256.GreaterThan(x, zero), Vector256<float>.One,
            Vector256.ConditionalSelect(Vector256.LessThan(x, zero), -Vector256<float>.One, x));
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<float> Load(Vector256<float> x) => x;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<float> ZeroWhereZero(Vector256<float> m, Vector256<float> x) =>
        Vector256.ConditionalSelect(Vector256.Equals(m, Vector256<float>.Zero), Vector256<float>.Zero, x);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<float> WhereLess(Vector256<float> a, Vector256<float> b, Vector256<float> x, Vector256<float> y) =>
        Vector256.ConditionalSelect(Vector256.LessThan(a, b), x, y);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<float> Broadcast(float x) => Vector256.Create(x);
}

/// <summary>bf16 maths, eight lanes: lane for lane <see cref="Bf16Maths"/>.</summary>
public readonly struct VectorBf16Maths : IMaths<Vector256<float>>
{
    // An operation's result rounded: its operands are loaded values (rounded by Load), results and broadcast scalars, none a
    // NaN with bits in its lower half, and the NaN an operation returns is quiet with an operand's payload or none (IEEE 754
    // quiets it; x86 keeps the first NaN operand's payload), so RoundBf16OfQuiet gives the bits RoundBf16 gives.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> R(Vector256<float> x) => CpuConvert.RoundBf16OfQuiet(x);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<float> Mul(Vector256<float> a, Vector256<float> b) => R(a * b);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<float> Add(Vector256<float> a, Vector256<float> b) => R(a + b);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<float> Div(Vector256<float> a, Vector256<float> b) => R(a / b);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<float> Root(Vector256<float> a) => R(Vector256.Sqrt(a));

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<float> Madd(Vector256<float> a, Vector256<float> b, Vector256<float> c) => R(R(a * b) + c);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<float> Neg(Vector256<float> a) => -a;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<float> Max(Vector256<float> a, Vector256<float> b) => Vector256.MaxNumber(a, b);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<float> Sign(Vector256<float> x) => default(VectorMaths).Sign(x);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<float> Load(Vector256<float> x) => CpuConvert.RoundBf16(x);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<float> ZeroWhereZero(Vector256<float> m, Vector256<float> x) => default(VectorMaths).ZeroWhereZero(m, x);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<float> WhereLess(Vector256<float> a, Vector256<float> b, Vector256<float> x, Vector256<float> y) => default(VectorMaths).WhereLess(a, b, x, y);

    /// <summary>A float32 scalar in every lane, a NaN as the default NaN (whose lower half is zero, as <see cref="R"/> needs).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<float> Broadcast(float x) => Vector256.Create(float.IsNaN(x) ? float.NaN : x);
}

/// <summary>float32 maths, sixteen lanes: lane for lane the scalar operations (FusedMultiplyAdd is fused per lane).</summary>
public readonly struct WideVectorMaths : IMaths<Vector512<float>>
{
    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<float> Mul(Vector512<float> a, Vector512<float> b) => a * b;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<float> Add(Vector512<float> a, Vector512<float> b) => a + b;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<float> Div(Vector512<float> a, Vector512<float> b) => a / b;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<float> Root(Vector512<float> a) => Vector512.Sqrt(a);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<float> Madd(Vector512<float> a, Vector512<float> b, Vector512<float> c) => Vector512.FusedMultiplyAdd(a, b, c);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<float> Neg(Vector512<float> a) => -a;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<float> Max(Vector512<float> a, Vector512<float> b) => Vector512.MaxNumber(a, b);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<float> Sign(Vector512<float> x)
    {
        var zero = Vector512<float>.Zero;
        return Vector512.ConditionalSelect(Vector512.GreaterThan(x, zero), Vector512<float>.One,
            Vector512.ConditionalSelect(Vector512.LessThan(x, zero), -Vector512<float>.One, x));
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<float> Load(Vector512<float> x) => x;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<float> ZeroWhereZero(Vector512<float> m, Vector512<float> x) =>
        Vector512.ConditionalSelect(Vector512.Equals(m, Vector512<float>.Zero), Vector512<float>.Zero, x);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<float> WhereLess(Vector512<float> a, Vector512<float> b, Vector512<float> x, Vector512<float> y) =>
        Vector512.ConditionalSelect(Vector512.LessThan(a, b), x, y);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<float> Broadcast(float x) => Vector512.Create(x);
}

/// <summary>bf16 maths, sixteen lanes: lane for lane <see cref="Bf16Maths"/>.</summary>
public readonly struct WideVectorBf16Maths : IMaths<Vector512<float>>
{
    // An operation's result rounded: its operands are loaded values (rounded by Load), results and broadcast scalars, none a
    // NaN with bits in its lower half, and the NaN an operation returns is quiet with an operand's payload or none (IEEE 754
    // quiets it; x86 keeps the first NaN operand's payload), so RoundBf16OfQuiet gives the bits RoundBf16 gives.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> R(Vector512<float> x) => CpuConvert.RoundBf16OfQuiet(x);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<float> Mul(Vector512<float> a, Vector512<float> b) => R(a * b);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<float> Add(Vector512<float> a, Vector512<float> b) => R(a + b);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<float> Div(Vector512<float> a, Vector512<float> b) => R(a / b);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<float> Root(Vector512<float> a) => R(Vector512.Sqrt(a));

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<float> Madd(Vector512<float> a, Vector512<float> b, Vector512<float> c) => R(R(a * b) + c);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<float> Neg(Vector512<float> a) => -a;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<float> Max(Vector512<float> a, Vector512<float> b) => Vector512.MaxNumber(a, b);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<float> Sign(Vector512<float> x) => default(WideVectorMaths).Sign(x);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<float> Load(Vector512<float> x) => CpuConvert.RoundBf16(x);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<float> ZeroWhereZero(Vector512<float> m, Vector512<float> x) => default(WideVectorMaths).ZeroWhereZero(m, x);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<float> WhereLess(Vector512<float> a, Vector512<float> b, Vector512<float> x, Vector512<float> y) => default(WideVectorMaths).WhereLess(a, b, x, y);

    /// <summary>A float32 scalar in every lane, a NaN as the default NaN (whose lower half is zero, as <see cref="R"/> needs).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<float> Broadcast(float x) => Vector512.Create(float.IsNaN(x) ? float.NaN : x);
}
