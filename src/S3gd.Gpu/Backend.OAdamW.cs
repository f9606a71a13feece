using S3gd.Gpu.Muon;

namespace S3gd.Gpu;

/// <summary>OAdamW's matrix path (Newton–Schulz of the gradient, reused between recomputations), checked once here for every backend.</summary>
public abstract partial class Backend
{
    /// <summary>
    /// Checks a list of float32 gradients and output buffers (shapes at least 1 x 1, rows x cols elements on this backend,
    /// no buffer twice) and prepares OAdamW's projection, same-shape matrices orthogonalised together.
    /// </summary>
    public OAdamWProjectionPlan PlanOAdamWProjection(OAdamWMatrixConfig config, IReadOnlyList<OAdamWProjection> tensors)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validated();
        ArgumentNullException.ThrowIfNull(tensors);
        ThrowIfDisposed();
        var seen = new HashSet<DeviceBuffer>(ReferenceEqualityComparer.Instance);
        for (var i = 0; i < tensors.Count; i++)
        {
            var t = tensors[i] ?? throw new ArgumentNullException(nameof(tensors), $"tensors[{i}] is null");
            CheckMatrixBuffers($"{nameof(tensors)}[{i}]", t.Rows, t.Cols, "the projection", seen, (t.Grad, "Grad"), (t.Output, "Output"));
        }
        return PlanOAdamWProjectionInternal(config, tensors);
    }

    /// <summary>Prepares a checked OAdamW projection.</summary>
    protected abstract OAdamWProjectionPlan PlanOAdamWProjectionInternal(OAdamWMatrixConfig config, IReadOnlyList<OAdamWProjection> tensors);
}
