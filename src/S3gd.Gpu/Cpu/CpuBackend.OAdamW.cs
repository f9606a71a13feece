using System.Runtime.InteropServices;
using S3gd.Gpu.Muon;

namespace S3gd.Gpu.Cpu;

/// <summary>
/// The CPU backend's OAdamW projection: <see cref="CpuMuon.NewtonSchulz"/> of each gradient in float32, times scale (in
/// float32 whatever <see cref="OAdamWMatrixConfig.Precision"/> says, as the CPU runs Muon's iteration).
/// </summary>
public sealed partial class CpuBackend
{
    /// <inheritdoc />
    protected override OAdamWProjectionPlan PlanOAdamWProjectionInternal(OAdamWMatrixConfig config, IReadOnlyList<OAdamWProjection> tensors) =>
        new CpuProjectionPlan(config, tensors);

    private sealed class CpuProjectionPlan(OAdamWMatrixConfig config, IReadOnlyList<OAdamWProjection> tensors) : OAdamWProjectionPlan(config, tensors)
    {
        protected override void StepInternal()
        {
            var scale = (float)Config.Scale;
            foreach (var t in Tensors)
            {
                var x = MemoryMarshal.Cast<byte, float>(Data(t.Grad).AsSpan()).ToArray();
                CpuMuon.NewtonSchulz(Config.Iteration, x, t.Rows, t.Cols, addEps: true);
                var output = MemoryMarshal.Cast<byte, float>(Data(t.Output).AsSpan());
                for (var i = 0; i < x.Length; i++) output[i] = scale * x[i];
            }
        }

        protected override void DisposeInternal()
        {
            // The plan works on the tensors' own buffers and holds nothing else.
        }
    }
}
