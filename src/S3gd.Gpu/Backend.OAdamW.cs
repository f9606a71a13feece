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
            var where = $"{nameof(tensors)}[{i}]";
            if (t.Rows < 1 || t.Cols < 1)
                throw new ArgumentException($"{where} has shape {t.Rows} x {t.Cols}; the projection needs at least 1 x 1", nameof(tensors));
            foreach (var (buffer, name) in new[] { (t.Grad, "Grad"), (t.Output, "Output") })
            {
                CheckBuffer(buffer, $"{where}.{name}");
                CheckType(buffer, ElementType.Float32, $"{where}.{name}");
                if (buffer.Length != t.Length)
                    throw new ArgumentException($"{where}.{name} has {buffer.Length} elements, the shape {t.Rows} x {t.Cols} needs {t.Length}", nameof(tensors));
                if (!seen.Add(buffer)) throw new ArgumentException($"{where}.{name} is a buffer given twice in the list", nameof(tensors));
            }
        }
        return PlanOAdamWProjectionInternal(config, tensors);
    }

    /// <summary>Prepares a checked OAdamW projection.</summary>
    protected abstract OAdamWProjectionPlan PlanOAdamWProjectionInternal(OAdamWMatrixConfig config, IReadOnlyList<OAdamWProjection> tensors);
}
