namespace S3gd.Gpu.Adafactor;

/// <summary>
/// One parameter Adafactor steps, float32 throughout: the parameter and its gradient (row-major, <see cref="Shape"/>), and
/// torch's state: for rank 2 and more <see cref="RowVar"/> (batch x rows) and <see cref="ColVar"/> (batch x columns), the
/// batch being the product of the leading dims; for rank 0 or 1 <see cref="Variance"/>, one per element.
/// </summary>
public sealed record AdafactorTensor(DeviceBuffer Param, DeviceBuffer Grad, IReadOnlyList<int> Shape, DeviceBuffer? RowVar, DeviceBuffer? ColVar, DeviceBuffer? Variance)
{
    /// <summary>Whether the second moment is factored over the last two dims (rank 2 and more).</summary>
    public bool Factored => Shape.Count >= 2;

    /// <summary>The matrices of the batch: the product of the leading dims (1 for a matrix).</summary>
    public long Batches => Shape.Take(Math.Max(0, Shape.Count - 2)).Aggregate(1L, (a, d) => a * d);

    /// <summary>Rows of each matrix (the second-to-last dim).</summary>
    public int Rows => Shape[^2];

    /// <summary>Columns of each matrix (the last dim).</summary>
    public int Cols => Shape[^1];

    /// <summary>Elements: the product of the dims (1 for a scalar).</summary>
    public long Length => Shape.Aggregate(1L, (a, d) => a * d);

    /// <summary>The state buffers by torch's names: row_var and col_var, or variance.</summary>
    public IReadOnlyList<(string Name, DeviceBuffer Buffer)> State =>
        Factored ? [("row_var", RowVar!), ("col_var", ColVar!)] : [("variance", Variance!)];
}
