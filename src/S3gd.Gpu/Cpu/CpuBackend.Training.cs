using S3gd.Gpu.Training;

namespace S3gd.Gpu.Cpu;

/// <summary>The CPU backend's model passes: <see cref="CpuMlp"/>.</summary>
public sealed partial class CpuBackend
{
    /// <inheritdoc />
    protected override Mlp CreateMlpInternal(MlpShape shape, int maxBatch) => new CpuMlp(this, shape, maxBatch);
}
