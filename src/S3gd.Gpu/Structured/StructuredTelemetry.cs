namespace S3gd.Gpu.Structured;

/// <summary>One tensor's counters from the steps since the plan's telemetry was last reset (<see cref="StructuredConfig.Telemetry"/>).</summary>
/// <param name="MaxAbsUpdate">The largest |p_new - p| of a step, in float32 before the parameter is stored (NaN updates are not counted).</param>
/// <param name="NonFiniteGrads">Gradient elements that were NaN or infinite.</param>
/// <param name="Fallbacks">Blocks of block-scaled fp8 state kept in bf16 instead (always 0: no structured state is fp8 yet).</param>
public readonly record struct StructuredTelemetry(float MaxAbsUpdate, long NonFiniteGrads, long Fallbacks);
