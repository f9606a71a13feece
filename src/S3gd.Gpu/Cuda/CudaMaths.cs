using System.Runtime.CompilerServices;
using ILGPU;
using ILGPU.Runtime.Cuda;
using S3gd.Gpu.Maths;

namespace S3gd.Gpu.Cuda;

/// <summary>
/// float32 maths in PTX with explicit rounding modifiers: add.rn, mul.rn and fma.rn are never contracted or split by the
/// driver's JIT, so each operation is the one IEEE operation the CPU backend performs (div.rn, sqrt.rn, max as fmaxf).
/// </summary>
public readonly struct CudaMaths : IMaths<float>
{
    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Mul(float a, float b)
    {
        CudaAsm.Emit("mul.rn.f32 %0, %1, %2;", out float r, a, b);
        return r;
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Add(float a, float b)
    {
        CudaAsm.Emit("add.rn.f32 %0, %1, %2;", out float r, a, b);
        return r;
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Div(float a, float b)
    {
        CudaAsm.Emit("div.rn.f32 %0, %1, %2;", out float r, a, b);
        return r;
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Root(float a)
    {
        CudaAsm.Emit("sqrt.rn.f32 %0, %1;", out float r, a);
        return r;
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Madd(float a, float b, float c)
    {
        CudaAsm.Emit("fma.rn.f32 %0, %1, %2, %3;", out float r, a, b, c);
        return r;
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Neg(float a) => -a;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Max(float a, float b)
    {
        CudaAsm.Emit("max.f32 %0, %1, %2;", out float r, a, b);
        return r;
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Sign(float x) => x > 0.0f ? 1.0f : x < 0.0f ? -1.0f : x;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Load(float x) => x;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float ZeroWhereZero(float m, float x) => m == 0.0f ? 0.0f : x;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float WhereLess(float a, float b, float x, float y) => a < b ? x : y;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Broadcast(float x) => x;
}

/// <summary>bf16 maths in PTX: each <see cref="CudaMaths"/> operation's float32 result rounded to bf16 (cvt.rn.bf16.f32).</summary>
public readonly struct CudaBf16Maths : IMaths<float>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float R(float x) => default(CudaOps).RoundBf16(x);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Mul(float a, float b) => R(default(CudaMaths).Mul(a, b));

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Add(float a, float b) => R(default(CudaMaths).Add(a, b));

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Div(float a, float b) => R(default(CudaMaths).Div(a, b));

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Root(float a) => R(default(CudaMaths).Root(a));

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Madd(float a, float b, float c) => R(default(CudaMaths).Add(R(default(CudaMaths).Mul(a, b)), c));

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Neg(float a) => -a;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Max(float a, float b) => default(CudaMaths).Max(a, b);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Sign(float x) => default(CudaMaths).Sign(x);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Load(float x) => R(x);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float ZeroWhereZero(float m, float x) => default(CudaMaths).ZeroWhereZero(m, x);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float WhereLess(float a, float b, float x, float y) => default(CudaMaths).WhereLess(a, b, x, y);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Broadcast(float x) => x;
}
