using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace S3gd.Gpu.Cpu;

/// <summary>
/// The kernels' kahan_update over spans (the elementwise and the structured twins share it): per element
/// c += p - old; p = bf16(old + c); c += old - p, none of it fused, sixteen or eight lanes at a time with the same float32 operations.
/// </summary>
internal static class CpuKahan
{
    /// <summary>
    /// Moves each parameter from <paramref name="old"/> towards its updated float32 value <paramref name="p"/> through the
    /// compensation <paramref name="c"/>: p ends as a bf16 value, c keeps what bf16 could not hold (c rounds to bf16 when stored).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Update(Span<float> p, ReadOnlySpan<float> old, Span<float> c)
    {
        if (old.Length != p.Length || c.Length != p.Length)
            throw new ArgumentException($"one old value and one compensation per parameter: {p.Length} parameters, {old.Length} old, {c.Length} compensations", nameof(c));
        var i = 0;
        ref var rp = ref MemoryMarshal.GetReference(p);
        ref var ro = ref MemoryMarshal.GetReference(old);
        ref var rc = ref MemoryMarshal.GetReference(c);
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i + CpuConvert.WideLanes <= p.Length; i += CpuConvert.WideLanes)
            {
                var at = (nuint)i;
                var (rounded, comp) = Update(Vector512.LoadUnsafe(ref ro, at), Vector512.LoadUnsafe(ref rp, at), Vector512.LoadUnsafe(ref rc, at));
                comp.StoreUnsafe(ref rc, at);
                rounded.StoreUnsafe(ref rp, at);
            }
        }
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i + Vector256<float>.Count <= p.Length; i += Vector256<float>.Count)
            {
                var at = (nuint)i;
                var (rounded, comp) = Update(Vector256.LoadUnsafe(ref ro, at), Vector256.LoadUnsafe(ref rp, at), Vector256.LoadUnsafe(ref rc, at));
                comp.StoreUnsafe(ref rc, at);
                rounded.StoreUnsafe(ref rp, at);
            }
        }
        for (; i < p.Length; i++)
        {
            var comp = c[i] + (p[i] - old[i]);
            var prev = old[i];
            p[i] = CpuConvert.RoundBf16(prev + comp);
            c[i] = comp + (prev - p[i]);
        }
    }

    /// <summary>One vector of <see cref="Update(Span{float}, ReadOnlySpan{float}, Span{float})"/>: the bf16 parameters and the new compensations.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static (Vector512<float> P, Vector512<float> C) Update(Vector512<float> old, Vector512<float> p, Vector512<float> c)
    {
        var comp = c + (p - old);
        var rounded = CpuConvert.RoundBf16(old + comp);
        return (rounded, comp + (old - rounded));
    }

    /// <summary>Eight lanes of <see cref="Update(Vector512{float}, Vector512{float}, Vector512{float})"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static (Vector256<float> P, Vector256<float> C) Update(Vector256<float> old, Vector256<float> p, Vector256<float> c)
    {
        var comp = c + (p - old);
        var rounded = CpuConvert.RoundBf16(old + comp);
        return (rounded, comp + (old - rounded));
    }
}
