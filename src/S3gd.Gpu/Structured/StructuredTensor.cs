namespace S3gd.Gpu.Structured;

/// <summary>One parameter of a structured step on a backend (buffers updated in place).</summary>
/// <param name="Param">The parameter (fp32 or bf16).</param>
/// <param name="Grad">The gradient, same format rules and length.</param>
/// <param name="Moment">The per-element first moment (StableAdamW's exp_avg, Adam-mini's m), same length.</param>
/// <param name="SecondMoment">StableAdamW's per-element exp_avg_sq; Adam-mini's fp32 vmean, one element per block.</param>
/// <param name="BlockLength">Adam-mini: elements per block (divides the length; AdamMiniPartition.blockLength). StableAdamW: 0 (the tensor is the group).</param>
/// <param name="Decays">Whether weight decay applies (Adam-mini: not to norm/ln_f names, AdamMiniPartition.decays).</param>
/// <param name="Compensation">The bf16 Kahan compensation buffer, exactly when the configuration keeps one.</param>
/// <param name="Fallback">The block words and slots of an fp8 first moment, exactly when the configuration's moment is fp8.</param>
public sealed record StructuredTensor(
    DeviceBuffer Param, DeviceBuffer Grad, DeviceBuffer Moment, DeviceBuffer SecondMoment, long BlockLength = 0, bool Decays = true,
    DeviceBuffer? Compensation = null, MomentFallback? Fallback = null)
{
    /// <summary>Every buffer of the tensor, for disposal.</summary>
    public IEnumerable<DeviceBuffer> Buffers =>
        new[] { Param, Grad, Moment, SecondMoment }.Concat(Compensation is null ? [] : [Compensation]).Concat(Fallback?.Buffers ?? []);
}
