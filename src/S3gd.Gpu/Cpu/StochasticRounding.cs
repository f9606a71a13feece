namespace S3gd.Gpu.Cpu;

/// <summary>
/// Stochastic rounding of float32 to bf16 with the counter-based hash of <c>elementwise.cu</c> (mix32, hash_stream,
/// hash_element, stochastic_bf16), bit for bit: the random word of an element depends only on (seed, step, tensor,
/// element index), so every backend and every launch layout draws the same bits.
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
    public static float Round(float x, uint random)
    {
        if (float.IsNaN(x)) return BitConverter.UInt32BitsToSingle((uint)CpuConvert.EncodeBf16(x) << 16);
        return BitConverter.UInt32BitsToSingle((BitConverter.SingleToUInt32Bits(x) + (random & LowHalf)) & ~LowHalf);
    }
}
