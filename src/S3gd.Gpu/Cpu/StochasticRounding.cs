using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using ILGPU;
using System.Runtime.Intrinsics;

namespace S3gd.Gpu.Cpu;

/// <summary>
/// Stochastic rounding of float32 to bf16 with a counter-based hash, the same in the kernels (<c>Kernels.StochasticUpdate</c>)
/// and the CPU backend: the random word of an element depends only on (seed, step, tensor, element index), so every backend
/// and every launch layout draws the same bits. The one-value functions compile in ILGPU kernels too.
/// </summary>
public static class StochasticRounding
{
    /// <summary>murmur3 fmix32 multiplier 1.</summary>
    private const uint Mix1 = 0x85ebca6bu;

    /// <summary>murmur3 fmix32 multiplier 2.</summary>
    private const uint Mix2 = 0xc2b2ae35u;

    /// <summary>2^32 divided by the golden ratio, xored into the seed so that seed 0 mixes.</summary>
    private const uint Golden = 0x9e3779b9u;

    /// <summary>The low 16 bits of a float32: what truncation to bf16 drops.</summary>
    private const uint LowHalf = 0xffffu;

    /// <summary>murmur3's 32-bit finalizer (a bijection; every output bit depends on every input bit).</summary>
    public static uint Mix32(uint x)
    {
        x ^= x >> 16;
        x *= Mix1;
        x ^= x >> 13;
        x *= Mix2;
        x ^= x >> 16;
        return x;
    }

    /// <summary>The hash state of one tensor at one step of one seeded run (hash_stream).</summary>
    public static uint Stream(uint seed, uint step, uint tensor) => Mix32(Mix32(Mix32(seed ^ Golden) ^ step) ^ tensor);

    /// <summary>The random word of element <paramref name="index"/> of the tensor whose stream is given (hash_element).</summary>
    public static uint Element(uint stream, long index) => Mix32(Mix32(stream ^ (uint)index) ^ (uint)((ulong)index >> 32));

    /// <summary>
    /// x rounded to a bf16 value (as float32): the low half of its bits plus the random word's low 16 bits, truncated, so
    /// the neighbour away from zero is taken with probability (low half)/2^16. NaN rounds to nearest; infinities stay.
    /// </summary>
    public static float Round(float x, uint random) => float.IsNaN(x) ? CpuConvert.RoundBf16(x) : Truncate(x, random);

    /// <summary>A number's bits plus the random word's low 16 bits, truncated to bf16 (not for NaN, whose payload could carry into an infinity).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Truncate(float x, uint random) => Interop.IntAsFloat((Interop.FloatAsInt(x) + (random & LowHalf)) & ~LowHalf);

    /// <summary>
    /// Rounds elements [start, start + x.Length) of the tensor whose stream is given, in place: <see cref="Round(float, uint)"/> of each
    /// with its <see cref="Element"/> word, sixteen or eight lanes at a time with the same integer steps (the vector multiply keeps
    /// the low 32 bits, as uint multiplication does).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Round(Span<float> x, uint stream, int start)
    {
        var i = 0;
        ref var r = ref MemoryMarshal.GetReference(x);
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i + CpuConvert.WideLanes <= x.Length; i += CpuConvert.WideLanes)
            {
                var at = (nuint)i;
                Round(Vector512.LoadUnsafe(ref r, at), stream, start + i).StoreUnsafe(ref r, at);
            }
        }
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i + Vector256<uint>.Count <= x.Length; i += Vector256<uint>.Count)
            {
                var at = (nuint)i;
                Round(Vector256.LoadUnsafe(ref r, at), stream, start + i).StoreUnsafe(ref r, at);
            }
        }
        for (; i < x.Length; i++) x[i] = Round(x[i], Element(stream, start + i));
    }

    /// <summary>
    /// <see cref="Round(float, uint)"/> of sixteen elements, <paramref name="index"/> the first's (an int index's upper word is 0,
    /// and hash_element xors it in after the first mix: nothing to add).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> Round(Vector512<float> x, uint stream, int index)
    {
        var offsets = Vector512.Create(0u, 1u, 2u, 3u, 4u, 5u, 6u, 7u, 8u, 9u, 10u, 11u, 12u, 13u, 14u, 15u);
        var low = Vector512.Create(LowHalf);
        var random = Mix32(Mix32(Vector512.Create(stream) ^ (Vector512.Create((uint)index) + offsets)));
        var truncated = ((x.AsUInt32() + (random & low)) & ~low).AsSingle();
        // NaN lanes are rare: their rounding to nearest is only computed where there is one.
        return Vector512.EqualsAll(x, x) ? truncated : Vector512.ConditionalSelect(Vector512.Equals(x, x), truncated, CpuConvert.RoundBf16(x));
    }

    /// <summary>Eight lanes of <see cref="Round(Vector512{float}, uint, int)"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> Round(Vector256<float> x, uint stream, int index)
    {
        var offsets = Vector256.Create(0u, 1u, 2u, 3u, 4u, 5u, 6u, 7u);
        var low = Vector256.Create(LowHalf);
        var random = Mix32(Mix32(Vector256.Create(stream) ^ (Vector256.Create((uint)index) + offsets)));
        var truncated = ((x.AsUInt32() + (random & low)) & ~low).AsSingle();
        // NaN lanes are rare: their rounding to nearest is only computed where there is one.
        return Vector256.EqualsAll(x, x) ? truncated : Vector256.ConditionalSelect(Vector256.Equals(x, x), truncated, CpuConvert.RoundBf16(x));
    }

    /// <summary><see cref="Mix32(uint)"/> in every one of sixteen lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<uint> Mix32(Vector512<uint> x)
    {
        x ^= Vector512.ShiftRightLogical(x, 16);
        x *= Vector512.Create(Mix1);
        x ^= Vector512.ShiftRightLogical(x, 13);
        x *= Vector512.Create(Mix2);
        x ^= Vector512.ShiftRightLogical(x, 16);
        return x;
    }

    /// <summary><see cref="Mix32(uint)"/> in every lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> Mix32(Vector256<uint> x)
    {
        x ^= Vector256.ShiftRightLogical(x, 16);
        x *= Vector256.Create(Mix1);
        x ^= Vector256.ShiftRightLogical(x, 13);
        x *= Vector256.Create(Mix2);
        x ^= Vector256.ShiftRightLogical(x, 16);
        return x;
    }
}
