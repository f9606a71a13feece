using System.Runtime.InteropServices;
using S3gd.Gpu.Muon;

namespace S3gd.Gpu.Cpu;

/// <summary>The CPU backend's Muon step: <see cref="CpuMuon"/> on each matrix in float32.</summary>
public sealed partial class CpuBackend
{
    /// <inheritdoc />
    protected override MuonPlan PlanMuonInternal(MuonConfig config, IReadOnlyList<MuonTensor> tensors) => new CpuMuonPlan(config, tensors);

    private sealed class CpuMuonPlan(MuonConfig config, IReadOnlyList<MuonTensor> tensors) : MuonPlan(config, tensors)
    {
        protected override void StepInternal(double lr)
        {
            var decay = DecayFactor(lr);
            foreach (var t in Tensors)
            {
                var update = CpuMuon.Momentum(Config, Floats(t.Grad), Floats(t.MomentumBuffer));
                CpuMuon.NewtonSchulz(Config, update, t.Rows, t.Cols);
                CpuMuon.Update(Floats(t.Param), update, decay, (float)Config.AdjustedLr(lr, t.Rows, t.Cols));
            }
        }

        protected override void DisposeInternal()
        {
            // The plan works on the tensors' own buffers and holds nothing else.
        }

        private static Span<float> Floats(DeviceBuffer buffer) => MemoryMarshal.Cast<byte, float>(Data(buffer).AsSpan());
    }
}
