using S3gd.Gpu.Adafactor;

namespace S3gd.Gpu;

/// <summary>Adafactor (torch.optim.Adafactor) over float32 parameters of any shape, checked once here for every backend.</summary>
public abstract partial class Backend
{
    /// <summary>
    /// Allocates torch's zeroed state for a parameter of <paramref name="shape"/>: for rank 2 and more row_var (batch x rows)
    /// and col_var (batch x columns) float32, for rank 0 or 1 variance, one float32 per element; the others null.
    /// </summary>
    public (DeviceBuffer? RowVar, DeviceBuffer? ColVar, DeviceBuffer? Variance) AllocateAdafactorState(IReadOnlyList<int> shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        CheckShape(shape, nameof(shape));
        var length = shape.Aggregate(1L, (a, d) => a * d);
        if (shape.Count < 2) return (null, null, Zeros(length));
        var batches = length / ((long)shape[^2] * shape[^1]);
        var rowVar = Zeros(batches * shape[^2]);
        try
        {
            return (rowVar, Zeros(batches * shape[^1]), null);
        }
        catch
        {
            rowVar.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Checks a list of parameters against Adafactor's needs (float32 buffers of this backend, each of its shape's length,
    /// torch's state for its rank, no buffer twice) and prepares the step.
    /// </summary>
    public AdafactorPlan PlanAdafactor(AdafactorConfig config, IReadOnlyList<AdafactorTensor> tensors)
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
            CheckShape(t.Shape, $"{where}.Shape");
            var expected = new List<(DeviceBuffer? Buffer, string Name, long Length)> { (t.Param, "Param", t.Length), (t.Grad, "Grad", t.Length) };
            if (t.Factored)
            {
                expected.Add((t.RowVar, "RowVar", t.Batches * t.Rows));
                expected.Add((t.ColVar, "ColVar", t.Batches * t.Cols));
                if (t.Variance is not null) throw new ArgumentException($"{where}.Variance was given for a parameter of rank {t.Shape.Count}: it keeps row_var and col_var", nameof(tensors));
            }
            else
            {
                expected.Add((t.Variance, "Variance", t.Length));
                if (t.RowVar is not null || t.ColVar is not null)
                    throw new ArgumentException($"{where}.RowVar or ColVar was given for a parameter of rank {t.Shape.Count}: it keeps variance", nameof(tensors));
            }
            foreach (var (buffer, name, length) in expected)
            {
                if (buffer is null) throw new ArgumentException($"{where}.{name} is missing", nameof(tensors));
                CheckBuffer(buffer, $"{where}.{name}");
                CheckType(buffer, ElementType.Float32, $"{where}.{name}");
                if (buffer.Length != length)
                    throw new ArgumentException($"{where}.{name} has {buffer.Length} elements, shape [{string.Join(", ", t.Shape)}] needs {length}", nameof(tensors));
                if (!seen.Add(buffer)) throw new ArgumentException($"{where}.{name} is a buffer given twice in the list", nameof(tensors));
            }
        }
        return PlanAdafactorInternal(config, tensors);
    }

    /// <summary>Prepares a checked Adafactor step.</summary>
    protected abstract AdafactorPlan PlanAdafactorInternal(AdafactorConfig config, IReadOnlyList<AdafactorTensor> tensors);

    /// <summary>A shape whose every dim is at least 1 (torch's norms of an empty parameter divide by zero).</summary>
    private static void CheckShape(IReadOnlyList<int> shape, string name)
    {
        ArgumentNullException.ThrowIfNull(shape, name);
        if (shape.Any(d => d < 1))
            throw new ArgumentException($"{name} is [{string.Join(", ", shape)}]: Adafactor needs every dim at least 1", name);
    }

    private DeviceBuffer Zeros(long length)
    {
        var buffer = Allocate(ElementType.Float32, length);
        UploadZeros(buffer);
        return buffer;
    }
}
