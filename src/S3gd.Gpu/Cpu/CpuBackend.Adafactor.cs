using System.Runtime.InteropServices;
using S3gd.Gpu.Adafactor;

namespace S3gd.Gpu.Cpu;

/// <summary>The CPU backend's Adafactor step: <see cref="CpuAdafactor"/> on each tensor in float32.</summary>
public sealed partial class CpuBackend
{
    /// <inheritdoc />
    protected override AdafactorPlan PlanAdafactorInternal(AdafactorConfig config, IReadOnlyList<AdafactorTensor> tensors) =>
        new CpuAdafactorPlan(config, tensors);

    private sealed class CpuAdafactorPlan(AdafactorConfig config, IReadOnlyList<AdafactorTensor> tensors) : AdafactorPlan(config, tensors)
    {
        protected override void StepInternal(AdafactorScalars scalars)
        {
            foreach (var t in Tensors)
                CpuAdafactor.Step(scalars, t, Floats(t.Param), Floats(t.Grad), Floats(t.Factored ? t.RowVar! : t.Variance!),
                    t.ColVar is null ? [] : Floats(t.ColVar), Config.D);
        }

        protected override void DisposeInternal()
        {
            // The plan works on the tensors' own buffers and holds nothing else.
        }

        private static Span<float> Floats(DeviceBuffer buffer) => MemoryMarshal.Cast<byte, float>(Data(buffer).AsSpan());
    }
}
