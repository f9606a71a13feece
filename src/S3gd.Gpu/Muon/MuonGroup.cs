namespace S3gd.Gpu.Muon;

/// <summary>
/// Matrices of one shape, orthogonalised together by batched matrix products: the indices of a plan's tensors with
/// <see cref="Rows"/> x <see cref="Cols"/> elements, in the order given.
/// </summary>
public sealed record MuonGroup(int Rows, int Cols, IReadOnlyList<int> Indices)
{
    /// <summary>Whether the matrix is tall (rows &gt; cols): Newton–Schulz then iterates on its transpose.</summary>
    public bool Tall => Rows > Cols;

    /// <summary>The short side m of the wide orientation (m x n, m &lt;= n).</summary>
    public int Short => Math.Min(Rows, Cols);

    /// <summary>The long side n of the wide orientation.</summary>
    public int Long => Math.Max(Rows, Cols);

    /// <summary>Elements of one matrix.</summary>
    public long Elements => (long)Rows * Cols;

    /// <summary>
    /// Floating-point operations of one Newton–Schulz iteration over the whole group: A = X X^T (2 m^2 n), A A (2 m^3),
    /// B X (2 m^2 n) per matrix, a multiply and an add counted per multiply-add.
    /// </summary>
    public double FlopsPerIteration => Indices.Count * (4.0 * Short * Short * Long + 2.0 * Short * Short * Short);

    /// <summary>The tensors grouped by shape, groups in the order their shape first appears.</summary>
    public static IReadOnlyList<MuonGroup> ByShape(IReadOnlyList<MuonTensor> tensors)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        return ByShape(tensors.Select(t => (t.Rows, t.Cols)).ToArray());
    }

    /// <summary>Matrices of the given (rows, cols) grouped by shape, groups in the order their shape first appears.</summary>
    public static IReadOnlyList<MuonGroup> ByShape(IReadOnlyList<(int Rows, int Cols)> shapes)
    {
        ArgumentNullException.ThrowIfNull(shapes);
        var groups = new List<(int Rows, int Cols, List<int> Indices)>();
        for (var i = 0; i < shapes.Count; i++)
        {
            var (rows, cols) = shapes[i];
            var k = groups.FindIndex(g => g.Rows == rows && g.Cols == cols);
            if (k < 0) groups.Add((rows, cols, [i]));
            else groups[k].Indices.Add(i);
        }
        return groups.Select(g => new MuonGroup(g.Rows, g.Cols, g.Indices.ToArray())).ToArray();
    }
}
