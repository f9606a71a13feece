namespace S3gd.Gpu.Elementwise;

/// <summary>
/// One parameter of an elementwise step on a backend: its buffers in the table's slot order. States and scales have
/// three entries, one per kernel state slot (null where the configuration keeps no such buffer or it is not block-scaled).
/// </summary>
/// <param name="Param">The parameter (fp32 or bf16), updated in place.</param>
/// <param name="Grad">The gradient (fp32 or bf16), same length.</param>
/// <param name="States">The three state slots, updated in place.</param>
/// <param name="Scales">The three slots' E8M0 block scales (one byte per <see cref="ElementwiseLayout.ScaleBlock"/> elements).</param>
/// <param name="Compensation">The bf16 Kahan compensation buffer, exactly when the configuration has <see cref="ParamUpdate.Kahan"/>.</param>
public sealed record ElementwiseTensor(
    DeviceBuffer Param, DeviceBuffer Grad, IReadOnlyList<DeviceBuffer?> States, IReadOnlyList<DeviceBuffer?> Scales, DeviceBuffer? Compensation = null)
{
    /// <summary>Every buffer of the tensor (not null), for disposal: the state and scales it owns, param and grad too.</summary>
    public IEnumerable<DeviceBuffer> Buffers =>
        new[] { Param, Grad }.Concat(States.Where(b => b is not null).Select(b => b!)).Concat(Scales.Where(b => b is not null).Select(b => b!))
            .Concat(Compensation is null ? [] : [Compensation]);
}
