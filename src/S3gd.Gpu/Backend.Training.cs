using S3gd.Gpu.Training;

namespace S3gd.Gpu;

/// <summary>The training example's model passes, checked once here for every backend.</summary>
public abstract partial class Backend
{
    /// <summary>A multilayer perceptron's hand-written passes on this backend, with workspace for batches of up to <paramref name="maxBatch"/> rows.</summary>
    public Mlp CreateMlp(MlpShape shape, int maxBatch)
    {
        ThrowIfDisposed();
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatch, 1);
        return CreateMlpInternal(shape, maxBatch);
    }

    /// <summary>Creates the backend's <see cref="Mlp"/> for a checked shape and batch size.</summary>
    protected abstract Mlp CreateMlpInternal(MlpShape shape, int maxBatch);
}
