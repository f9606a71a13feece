using System.Runtime.InteropServices;
using S3gd.Gpu.Elementwise;

namespace S3gd.Gpu.Cpu;

/// <summary>The CPU backend's elementwise step: <see cref="CpuElementwise"/> over the buffers' bytes.</summary>
public sealed partial class CpuBackend
{
    /// <inheritdoc />
    protected override ElementwisePlan PlanElementwiseInternal(
        ElementwiseConfig config, IReadOnlyList<ElementwiseTensor> tensors, DeviceBuffer? foundInf, ElementwiseLaunch launch) =>
        new CpuElementwisePlan(config, tensors, foundInf);

    /// <inheritdoc />
    protected override void CopyInternal(DeviceBuffer source, DeviceBuffer destination) => Data(source).AsSpan().CopyTo(Data(destination));

    private sealed class CpuElementwisePlan(ElementwiseConfig config, IReadOnlyList<ElementwiseTensor> tensors, DeviceBuffer? foundInf)
        : ElementwisePlan(config, tensors)
    {
        private readonly ICpuElementwiseStep step = CpuElementwise.For(config);

        private readonly CpuElementwiseTensor[] views = tensors.Select(t => new CpuElementwiseTensor(
            Data(t.Param), Data(t.Grad), t.States.Select(s => s is null ? null : Data(s)).ToArray(),
            t.Scales.Select(s => s is null ? null : Data(s)).ToArray(), checked((int)t.Param.Length),
            t.Compensation is null ? null : Data(t.Compensation))).ToArray();

        protected override void StepInternal(StepScalars scalars)
        {
            var skip = foundInf is not null && MemoryMarshal.Cast<byte, float>(Data(foundInf))[0] != 0.0f;
            if (!skip) step.Run(scalars, views);
        }

        protected override void DisposeInternal()
        {
            // The views alias the tensors' own buffers; the plan holds nothing else.
        }
    }
}
