namespace S3gd.Gpu.Training;

/// <summary>
/// The layer widths of a multilayer perceptron: <see cref="Inputs"/> features, tanh hidden layers of the given widths,
/// and <see cref="Classes"/> logits. Its parameters are, per layer, a weight of [out, in] then a bias of [out]
/// (torch.nn.Linear's layout and order), each a float32 buffer.
/// </summary>
public sealed class MlpShape
{
    /// <summary>Checks and fixes the widths; every width must be positive and there must be at least two classes.</summary>
    public MlpShape(int inputs, IReadOnlyList<int> hidden, int classes)
    {
        ArgumentNullException.ThrowIfNull(hidden);
        ArgumentOutOfRangeException.ThrowIfLessThan(inputs, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(classes, 2);
        for (var i = 0; i < hidden.Count; i++)
            if (hidden[i] < 1) throw new ArgumentOutOfRangeException(nameof(hidden), hidden[i], $"hidden[{i}] must be at least 1");
        Inputs = inputs;
        Hidden = [.. hidden];
        Classes = classes;
        Widths = [inputs, .. hidden, classes];
    }

    /// <summary>Features per example.</summary>
    public int Inputs { get; }

    /// <summary>The hidden layers' widths (each followed by tanh).</summary>
    public IReadOnlyList<int> Hidden { get; }

    /// <summary>Logits per example: the number of classes.</summary>
    public int Classes { get; }

    /// <summary>Every layer's width, inputs first and classes last.</summary>
    public IReadOnlyList<int> Widths { get; }

    /// <summary>The number of linear layers (hidden layers plus the output layer).</summary>
    public int Layers => Widths.Count - 1;

    /// <summary>The widest layer.</summary>
    public int MaxWidth => Widths.Max();

    /// <summary>Each parameter's element count, in order: layer 0's weight, its bias, layer 1's weight, ...</summary>
    public IReadOnlyList<long> ParameterLengths =>
        [.. Enumerable.Range(0, Layers).SelectMany(l => new[] { (long)Widths[l + 1] * Widths[l], Widths[l + 1] })];

    /// <summary>Each parameter's name as torch.nn.Sequential of Linear and Tanh names it ("0.weight", "0.bias", "2.weight", ...).</summary>
    public IReadOnlyList<string> ParameterNames =>
        [.. Enumerable.Range(0, Layers).SelectMany(l => new[] { $"{2 * l}.weight", $"{2 * l}.bias" })];

    /// <summary>
    /// Initial parameters as torch.nn.Linear's reset_parameters draws them, U(-1/sqrt(in), 1/sqrt(in)) for weights and
    /// biases, from a seeded generator (the same values for the same seed on every machine).
    /// </summary>
    public float[][] Initialize(int seed)
    {
        var random = new Random(seed);
        var result = new float[2 * Layers][];
        for (var l = 0; l < Layers; l++)
        {
            var bound = 1.0 / Math.Sqrt(Widths[l]);
            float Draw() => (float)((2.0 * random.NextDouble() - 1.0) * bound);
            result[2 * l] = Enumerable.Range(0, Widths[l + 1] * Widths[l]).Select(_ => Draw()).ToArray();
            result[2 * l + 1] = Enumerable.Range(0, Widths[l + 1]).Select(_ => Draw()).ToArray();
        }
        return result;
    }

    /// <inheritdoc />
    public override string ToString() => string.Join(" -> ", Widths);
}
