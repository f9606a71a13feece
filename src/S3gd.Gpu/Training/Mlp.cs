namespace S3gd.Gpu.Training;

/// <summary>A model's mean loss and accuracy over a data set.</summary>
/// <param name="Loss">The mean softmax cross-entropy.</param>
/// <param name="Accuracy">The fraction of rows whose largest logit is their label's.</param>
public readonly record struct MlpEvaluation(double Loss, double Accuracy);

/// <summary>
/// A multilayer perceptron's forward and backward passes on one backend, written by hand: a tiled matrix product with
/// bias and tanh, softmax cross-entropy and column sums (<c>Kernels.MlpKernels</c> and its CPU twin). The sequence of
/// operations is written once here; each backend supplies the three primitives. Holds workspace for batches of up to
/// <see cref="MaxBatch"/> rows; create it with <see cref="Backend.CreateMlp"/> and dispose it before the backend.
/// </summary>
public abstract class Mlp : IDisposable
{
    private readonly DeviceBuffer[] activations;
    private readonly DeviceBuffer delta, deltaNext, rowStats, sums;
    private bool disposed;

    /// <summary>Allocates the workspace on <paramref name="owner"/>: each layer's outputs, two gradient buffers, per-row loss and sums.</summary>
    protected Mlp(Backend owner, MlpShape shape, int maxBatch)
    {
        Owner = owner;
        Shape = shape;
        MaxBatch = maxBatch;
        activations = [.. shape.Widths.Skip(1).Select(w => owner.Allocate(ElementType.Float32, (long)maxBatch * w))];
        delta = owner.Allocate(ElementType.Float32, (long)maxBatch * shape.MaxWidth);
        deltaNext = owner.Allocate(ElementType.Float32, (long)maxBatch * shape.MaxWidth);
        // Per row: its loss and whether it was classified right.
        rowStats = owner.Allocate(ElementType.Float32, 2L * maxBatch);
        sums = owner.Allocate(ElementType.Float32, 2);
    }

    /// <summary>The backend whose buffers the passes read and write.</summary>
    public Backend Owner { get; }

    /// <summary>The layer widths.</summary>
    public MlpShape Shape { get; }

    /// <summary>The most rows one <see cref="ForwardBackward"/> takes.</summary>
    public int MaxBatch { get; }

    /// <summary>
    /// The mean softmax cross-entropy of rows [<paramref name="start"/>, start + <paramref name="count"/>) of the data set
    /// (<paramref name="inputs"/>: rows of <see cref="MlpShape.Inputs"/> float32; <paramref name="labels"/>: one float32
    /// class per row), and its gradient with respect to every parameter written into <paramref name="gradients"/>
    /// (overwritten, not accumulated). Parameters and gradients are float32 buffers of <see cref="MlpShape.ParameterLengths"/>.
    /// A label that is not a whole number in [0, classes) makes the loss NaN.
    /// </summary>
    public float ForwardBackward(
        IReadOnlyList<DeviceBuffer> parameters, IReadOnlyList<DeviceBuffer> gradients, DeviceBuffer inputs, DeviceBuffer labels, int start, int count)
    {
        var rows = CheckData(parameters, inputs, labels);
        CheckParameters(gradients, nameof(gradients));
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        if (count < 1 || count > MaxBatch) throw new ArgumentOutOfRangeException(nameof(count), count, $"a batch has 1 to {MaxBatch} rows (MaxBatch)");
        if (start + (long)count > rows) throw new ArgumentOutOfRangeException(nameof(count), count, $"rows {start}..{start + count - 1} are past the data set's {rows} rows");
        var widths = Shape.Widths;
        var layers = Shape.Layers;
        Forward(parameters, inputs, start, count);
        SoftmaxCrossEntropyInternal(activations[layers - 1], labels, start, delta, rowStats, count, Shape.Classes, 1.0f / count);
        var (current, next) = (delta, deltaNext);
        for (var l = layers - 1; l >= 0; l--)
        {
            int fanIn = widths[l], fanOut = widths[l + 1];
            var (previous, offset) = l == 0 ? (inputs, (long)start * fanIn) : (activations[l - 1], 0L);
            // dW[o, i] = sum over rows r of delta[r, o] * previous[r, i]; db[o] = sum over rows of delta[r, o].
            MatMulInternal(new MlpMatMul(current, 0, 1, fanOut, previous, offset, fanIn, 1, gradients[2 * l], fanOut, fanIn, count, null, false, null));
            ColumnSumInternal(current, gradients[2 * l + 1], count, fanOut);
            if (l == 0) break;
            // The previous layer's delta: (delta . W)[r, i] * (1 - a[r, i]^2), a its tanh output.
            MatMulInternal(new MlpMatMul(current, 0, fanOut, 1, parameters[2 * l], 0, fanIn, 1, next, count, fanIn, fanOut, null, false, activations[l - 1]));
            (current, next) = (next, current);
        }
        return (float)ReadSums(count).Loss;
    }

    /// <summary>The mean loss and the accuracy of the parameters over every row of the data set, in batches of <see cref="MaxBatch"/>.</summary>
    public MlpEvaluation Evaluate(IReadOnlyList<DeviceBuffer> parameters, DeviceBuffer inputs, DeviceBuffer labels)
    {
        var rows = CheckData(parameters, inputs, labels);
        if (rows == 0) throw new ArgumentException("the data set has no rows", nameof(labels));
        double loss = 0, correct = 0;
        for (var start = 0; start < rows; start += MaxBatch)
        {
            var count = Math.Min(MaxBatch, rows - start);
            Forward(parameters, inputs, start, count);
            SoftmaxCrossEntropyInternal(activations[Shape.Layers - 1], labels, start, null, rowStats, count, Shape.Classes, 0.0f);
            var (l, c) = ReadSums(count);
            loss += l * count;
            correct += c;
        }
        return new MlpEvaluation(loss / rows, correct / rows);
    }

    /// <summary>Frees the workspace, once.</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        foreach (var b in activations) b.Dispose();
        delta.Dispose();
        deltaNext.Dispose();
        rowStats.Dispose();
        sums.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>
    /// c[i, j] for i &lt; M, j &lt; N (packed [M x N]) = the sum over k &lt; K, ascending from 0, of
    /// a[AOffset + i*ARow + k*AInner] * b[BOffset + k*BInner + j*BCol], each product rounded then added; then
    /// + Bias[j] when given, tanh when Tanh, and * (1 - d*d) with d = TanhOutput[i, j] when given.
    /// </summary>
    protected abstract void MatMulInternal(MlpMatMul op);

    /// <summary>
    /// Per row r &lt; rows of logits [rows x classes]: stats[2r] = logsumexp - logit[label], stats[2r + 1] = 1 when the
    /// first largest logit is the label's, else 0, with label = labels[labelOffset + r] (not a whole number in
    /// [0, classes): NaN); dlogits[r, j] = (softmax_j - [j = label]) * scale when dlogits is given.
    /// </summary>
    protected abstract void SoftmaxCrossEntropyInternal(
        DeviceBuffer logits, DeviceBuffer labels, long labelOffset, DeviceBuffer? dlogits, DeviceBuffer stats, int rows, int classes, float scale);

    /// <summary>
    /// output[j] = the sum of column j of x [rows x cols]: 256 partial sums (partial t adds rows t, t + 256, ... in
    /// order) added in a tree (partial[t] += partial[t + s] for s = 128, 64, ..., 1), as <c>Kernels.MlpKernels.ColumnSum</c>.
    /// </summary>
    protected abstract void ColumnSumInternal(DeviceBuffer x, DeviceBuffer output, int rows, int cols);

    /// <summary>Fills every layer's outputs for rows [start, start + count): tanh hidden layers, then the logits.</summary>
    private void Forward(IReadOnlyList<DeviceBuffer> parameters, DeviceBuffer inputs, int start, int count)
    {
        var widths = Shape.Widths;
        for (var l = 0; l < Shape.Layers; l++)
        {
            int fanIn = widths[l], fanOut = widths[l + 1];
            var (previous, offset) = l == 0 ? (inputs, (long)start * fanIn) : (activations[l - 1], 0L);
            // out[r, o] = previous[r, :] . W[o, :] + b[o], W stored [out, in].
            MatMulInternal(new MlpMatMul(
                previous, offset, fanIn, 1, parameters[2 * l], 0, 1, fanIn, activations[l], count, fanOut, fanIn,
                parameters[2 * l + 1], l < Shape.Layers - 1, null));
        }
    }

    /// <summary>Sums the row statistics of <paramref name="count"/> rows: their mean loss and the number classified right.</summary>
    private (double Loss, double Correct) ReadSums(int count)
    {
        ColumnSumInternal(rowStats, sums, count, 2);
        var s = Owner.Download<float>(sums);
        return ((double)s[0] / count, s[1]);
    }

    private int CheckData(IReadOnlyList<DeviceBuffer> parameters, DeviceBuffer inputs, DeviceBuffer labels)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        CheckParameters(parameters, nameof(parameters));
        CheckFloat32(inputs, nameof(inputs));
        CheckFloat32(labels, nameof(labels));
        if (inputs.Length != labels.Length * Shape.Inputs)
            throw new ArgumentException(
                $"{nameof(inputs)} has {inputs.Length} elements; {labels.Length} labels need {labels.Length * Shape.Inputs} ({Shape.Inputs} features a row)",
                nameof(inputs));
        if (labels.Length > int.MaxValue) throw new ArgumentException($"{labels.Length} rows are more than a data set may have ({int.MaxValue})", nameof(labels));
        return (int)labels.Length;
    }

    private void CheckParameters(IReadOnlyList<DeviceBuffer> buffers, string name)
    {
        ArgumentNullException.ThrowIfNull(buffers, name);
        var lengths = Shape.ParameterLengths;
        if (buffers.Count != lengths.Count)
            throw new ArgumentException($"{name} has {buffers.Count} buffers; the {Shape} model has {lengths.Count}", name);
        for (var i = 0; i < lengths.Count; i++)
        {
            CheckFloat32(buffers[i], $"{name}[{i}]");
            if (buffers[i].Length != lengths[i])
                throw new ArgumentException($"{name}[{i}] ({Shape.ParameterNames[i]}) has {buffers[i].Length} elements, the model needs {lengths[i]}", name);
        }
    }

    private void CheckFloat32(DeviceBuffer buffer, string name)
    {
        ArgumentNullException.ThrowIfNull(buffer, name);
        if (!ReferenceEquals(buffer.Owner, Owner)) throw new ArgumentException($"{name} belongs to another backend ({buffer.Owner}), not {Owner}", name);
        ObjectDisposedException.ThrowIf(buffer.IsDisposed, buffer);
        if (buffer.ElementType != ElementType.Float32) throw new ArgumentException($"{name} holds {buffer.ElementType.Name()}, the model needs float32", name);
    }
}

/// <summary>One matrix product of <see cref="Mlp"/>'s passes, as <c>MatMulInternal</c> documents it.</summary>
/// <param name="A">The left operand's buffer.</param>
/// <param name="AOffset">The element of <paramref name="A"/> at (0, 0).</param>
/// <param name="ARow">Elements between rows of the left operand.</param>
/// <param name="AInner">Elements between its columns (along k).</param>
/// <param name="B">The right operand's buffer.</param>
/// <param name="BOffset">The element of <paramref name="B"/> at (0, 0).</param>
/// <param name="BInner">Elements between its rows (along k).</param>
/// <param name="BCol">Elements between its columns.</param>
/// <param name="C">The output, packed [M x N].</param>
/// <param name="M">Output rows.</param>
/// <param name="N">Output columns.</param>
/// <param name="K">Terms per sum.</param>
/// <param name="Bias">Added to each output column, or null.</param>
/// <param name="Tanh">Whether tanh follows.</param>
/// <param name="TanhOutput">A tanh output [M x N] whose derivative (1 - d^2) multiplies the result, or null.</param>
public readonly record struct MlpMatMul(
    DeviceBuffer A, long AOffset, int ARow, int AInner, DeviceBuffer B, long BOffset, int BInner, int BCol,
    DeviceBuffer C, int M, int N, int K, DeviceBuffer? Bias, bool Tanh, DeviceBuffer? TanhOutput);
