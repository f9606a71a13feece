using S3gd.Gpu.Muon;
using S3gd.Gpu.Training;

namespace S3gd.Gpu.Kernels;

// TEMPORARY while the structured, Muon and MLP kernels move to C#: remove before merging.
public abstract partial class KernelBackend
{
    /// <inheritdoc />
    protected override MuonPlan PlanMuonInternal(MuonConfig config, IReadOnlyList<MuonTensor> tensors) =>
        throw new NotSupportedException("muon kernels are being ported");

    /// <inheritdoc />
    protected override OAdamWProjectionPlan PlanOAdamWProjectionInternal(OAdamWMatrixConfig config, IReadOnlyList<OAdamWProjection> tensors) =>
        throw new NotSupportedException("muon kernels are being ported");

    /// <inheritdoc />
    protected override Mlp CreateMlpInternal(MlpShape shape, int maxBatch) => throw new NotSupportedException("mlp kernels are being ported");
}
