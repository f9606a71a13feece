namespace S3gd.Gpu.Structured;

/// <summary>One tensor's counters from the steps since the plan's telemetry was last read (<see cref="StructuredConfig.Telemetry"/>).</summary>
/// <param name="MaxAbsUpdate">The largest |p_new - p| of a step, in float32 before the parameter is stored (NaN updates are not counted).</param>
/// <param name="NonFiniteGrads">Gradient elements that were NaN or infinite (a 32-bit device counter: read before 2^32 of them).</param>
public readonly record struct StructuredTelemetry(float MaxAbsUpdate, long NonFiniteGrads);
