namespace S3gd.Gpu.Structured;

/// <summary>One tensor's counters from the steps since the plan's telemetry was last read (<see cref="StructuredConfig.Telemetry"/>).</summary>
/// <param name="MaxAbsUpdate">The largest |p_new - p| of a step, in float32 before the parameter is stored (NaN updates are not counted).</param>
/// <param name="NonFiniteGrads">Gradient elements that were NaN or infinite (a 32-bit device counter: read before 2^32 of them).</param>
/// <param name="Fallbacks">With an fp8 first moment, blocks the fp8 scale could not represent (zeros and bf16 ones); else 0.</param>
/// <param name="Overflows">Of those, blocks that found their segment's slot taken and kept the plain fp8 encoding.</param>
public readonly record struct StructuredTelemetry(float MaxAbsUpdate, long NonFiniteGrads, long Fallbacks, long Overflows)
{
    /// <summary>Device counter words per tensor: max |update| bits, non-finite gradients, fallbacks, overflows.</summary>
    public const int Words = 4;

    /// <summary>The counter word of the largest |update|'s float32 bits (raised by atomic max: non-negative floats order as their bits).</summary>
    public const int MaxAbsUpdateWord = 0;

    /// <summary>The counter word of the non-finite gradients.</summary>
    public const int NonFiniteWord = 1;

    /// <summary>The counter word of the fp8 moment's fallback blocks.</summary>
    public const int FallbacksWord = 2;

    /// <summary>The counter word of the fp8 moment's overflowed blocks.</summary>
    public const int OverflowsWord = 3;

    /// <summary>Tensor <paramref name="t"/>'s counters from the counter words.</summary>
    public static StructuredTelemetry Read(ReadOnlySpan<uint> words, int t) =>
        new(BitConverter.UInt32BitsToSingle(words[Words * t + MaxAbsUpdateWord]), words[Words * t + NonFiniteWord], words[Words * t + FallbacksWord],
            words[Words * t + OverflowsWord]);
}
