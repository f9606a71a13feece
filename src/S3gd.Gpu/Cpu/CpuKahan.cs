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
                var prev = Vector512.LoadUnsafe(ref ro, at);
                var comp = Vector512.LoadUnsafe(ref rc, at) + (Vector512.LoadUnsafe(ref rp, at) - prev);
                var rounded = CpuConvert.RoundBf16(prev + comp);
                (comp + (prev - rounded)).StoreUnsafe(ref rc, at);
                rounded.StoreUnsafe(ref rp, at);
            }
        }
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i + Vector256<float>.Count <= p.Length; i += Vector256<float>.Count)
            {
                var at = (nuint)i;
                var prev = Vector256.LoadUnsafe(ref ro, at);
                var comp = Vector256.LoadUnsafe(ref rc, at) + (Vector256.LoadUnsafe(ref rp, at) - prev);
                var rounded = CpuConvert.RoundBf16(prev + comp);
                (comp + (prev - rounded)).StoreUnsafe(ref rc, at);
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
}
