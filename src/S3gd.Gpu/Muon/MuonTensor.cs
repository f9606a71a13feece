namespace S3gd.Gpu.Muon;

/// <summary>
/// One 2-D parameter Muon steps: float32 parameter, gradient and momentum buffer of <see cref="Rows"/> x
/// <see cref="Cols"/> elements each, row-major (as torch stores a contiguous matrix).
/// </summary>
public sealed record MuonTensor(DeviceBuffer Param, DeviceBuffer Grad, DeviceBuffer MomentumBuffer, int Rows, int Cols)
{
    /// <summary>Rows x cols, the length every buffer must have.</summary>
    public long Length => (long)Rows * Cols;
}
