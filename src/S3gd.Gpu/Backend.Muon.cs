using S3gd.Gpu.Muon;

namespace S3gd.Gpu;

/// <summary>Muon (momentum orthogonalised by Newton–Schulz) over 2-D parameters, checked once here for every backend.</summary>
public abstract partial class Backend
{
    /// <summary>Allocates a Muon momentum buffer of <paramref name="length"/> float32 zeros (as torch.zeros_like).</summary>
    public DeviceBuffer AllocateMuonMomentum(long length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        var buffer = Allocate(ElementType.Float32, length);
        UploadZeros(buffer);
        return buffer;
    }

    /// <summary>
    /// Checks a list of 2-D float32 parameters (shapes at least 1 x 1, buffers of rows x cols elements on this backend,
    /// no parameter twice) and prepares Muon's step, same-shape matrices orthogonalised together.
    /// </summary>
    public MuonPlan PlanMuon(MuonConfig config, IReadOnlyList<MuonTensor> tensors)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validated();
        ArgumentNullException.ThrowIfNull(tensors);
        ThrowIfDisposed();
        var seen = new HashSet<DeviceBuffer>(ReferenceEqualityComparer.Instance);
        for (var i = 0; i < tensors.Count; i++)
        {
            var t = tensors[i] ?? throw new ArgumentNullException(nameof(tensors), $"tensors[{i}] is null");
            CheckMatrixBuffers($"{nameof(tensors)}[{i}]", t.Rows, t.Cols, "Muon", seen, (t.Param, "Param"), (t.Grad, "Grad"), (t.MomentumBuffer, "MomentumBuffer"));
        }
        return PlanMuonInternal(config, tensors);
    }

    /// <summary>
    /// Checks one matrix's float32 buffers of <paramref name="rows"/> x <paramref name="cols"/> elements on this backend,
    /// none given before in the list (<paramref name="seen"/>); errors name <paramref name="where"/> and the buffer.
    /// </summary>
    private void CheckMatrixBuffers(string where, int rows, int cols, string what, HashSet<DeviceBuffer> seen, params (DeviceBuffer Buffer, string Name)[] buffers)
    {
        if (rows < 1 || cols < 1)
            throw new ArgumentException($"{where} has shape {rows} x {cols}; {what} needs at least 1 x 1", "tensors");
        var length = (long)rows * cols;
        foreach (var (buffer, name) in buffers)
        {
            CheckBuffer(buffer, $"{where}.{name}");
            CheckType(buffer, ElementType.Float32, $"{where}.{name}");
            if (buffer.Length != length)
                throw new ArgumentException($"{where}.{name} has {buffer.Length} elements, the shape {rows} x {cols} needs {length}", "tensors");
            if (!seen.Add(buffer)) throw new ArgumentException($"{where}.{name} is a buffer given twice in the list", "tensors");
        }
    }

    /// <summary>Prepares a checked Muon step.</summary>
    protected abstract MuonPlan PlanMuonInternal(MuonConfig config, IReadOnlyList<MuonTensor> tensors);
}
