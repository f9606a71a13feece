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

    /// <summary>Tensor <paramref name="t"/>'s counters from the counter words.</summary>
    public static StructuredTelemetry Read(ReadOnlySpan<uint> words, int t) =>
        new(BitConverter.UInt32BitsToSingle(words[Words * t]), words[Words * t + 1], words[Words * t + 2], words[Words * t + 3]);
}
