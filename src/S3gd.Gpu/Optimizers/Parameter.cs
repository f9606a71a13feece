using S3gd.Gpu.Cuda;

namespace S3gd.Gpu.Optimizers;

/// <summary>
/// A named parameter with its gradient, as device buffers of one backend: allocated by the library
/// (<see cref="Allocate"/>), given (<see cref="Parameter(string, IReadOnlyList{int}, DeviceBuffer, DeviceBuffer)"/>),
/// or another framework's device memory wrapped in place (<see cref="FromDevicePointers"/>). Optimizer state is not
/// here: the optimizer owns it.
/// </summary>
public sealed class Parameter : IDisposable
{
    private readonly bool ownsBuffers;

    /// <summary>A parameter over buffers the caller owns (and disposes); the shape's product must equal both buffers' lengths.</summary>
    public Parameter(string name, IReadOnlyList<int> shape, DeviceBuffer param, DeviceBuffer grad) : this(name, shape, param, grad, false) { }

    private Parameter(string name, IReadOnlyList<int> shape, DeviceBuffer param, DeviceBuffer grad, bool owns)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(param);
        ArgumentNullException.ThrowIfNull(grad);
        var length = CheckShape(name, shape);
        if (!ReferenceEquals(param.Owner, grad.Owner))
            throw new ArgumentException($"parameter '{name}': param is on {param.Owner}, grad on {grad.Owner}", nameof(grad));
        if (param.Length != length)
            throw new ArgumentException($"parameter '{name}': shape [{string.Join(", ", shape)}] has {length} elements, param {param.Length}", nameof(param));
        if (grad.Length != length)
            throw new ArgumentException($"parameter '{name}': shape [{string.Join(", ", shape)}] has {length} elements, grad {grad.Length}", nameof(grad));
        Name = name;
        Shape = [.. shape];
        Param = param;
        Grad = grad;
        ownsBuffers = owns;
    }

    /// <summary>The parameter's name, as in a model's named_parameters() (checkpoint tensors are named after it).</summary>
    public string Name { get; }

    /// <summary>The tensor shape (row-major); every dimension at least 1.</summary>
    public IReadOnlyList<int> Shape { get; }

    /// <summary>The number of elements.</summary>
    public long Length => Param.Length;

    /// <summary>The parameter values, updated in place by the optimizer.</summary>
    public DeviceBuffer Param { get; }

    /// <summary>The gradient, read by the optimizer.</summary>
    public DeviceBuffer Grad { get; }

    /// <summary>The backend both buffers belong to.</summary>
    public Backend Backend => Param.Owner;

    /// <summary>Whether the gradient wraps another framework's memory (<see cref="FromDevicePointers"/>): <see cref="Optimizer.ZeroGrad"/> leaves it alone.</summary>
    public bool IsForeign { get; private init; }

    /// <summary>A parameter with library-allocated param and grad buffers, both zero; disposing the parameter frees them.</summary>
    public static Parameter Allocate(
        Backend backend, string name, IReadOnlyList<int> shape, ElementType param = ElementType.Float32, ElementType grad = ElementType.Float32)
    {
        ArgumentNullException.ThrowIfNull(backend);
        var length = CheckShape(name, shape);
        var p = backend.Allocate(param, length);
        DeviceBuffer? g = null;
        try
        {
            g = backend.Allocate(grad, length);
            Zero(p);
            Zero(g);
            return new Parameter(name, shape, p, g, true);
        }
        catch
        {
            p.Dispose();
            g?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A parameter over device memory another CUDA framework owns (a torch tensor's data_ptr(), in the same CUDA
    /// context): the optimizer steps it in place, nothing is copied and nothing is freed. The pointers must be non-zero
    /// and hold the shape's element count of the given types; only the CUDA backend can wrap them. The backend runs on its
    /// own stream: let the other framework's work on the tensors finish before <see cref="Optimizer.Step()"/>, and call
    /// <see cref="Backend.Synchronize"/> before it reads them again.
    /// </summary>
    public static Parameter FromDevicePointers(
        Backend backend, string name, IReadOnlyList<int> shape, nint param, ElementType paramType, nint grad, ElementType gradType)
    {
        ArgumentNullException.ThrowIfNull(backend);
        var length = CheckShape(name, shape);
        if (param == 0) throw new ArgumentException($"parameter '{name}': the param pointer is null", nameof(param));
        if (grad == 0) throw new ArgumentException($"parameter '{name}': the grad pointer is null", nameof(grad));
        if (backend is not CudaBackend cuda)
            throw new ArgumentException($"parameter '{name}': raw device pointers need the CUDA backend, not {backend}", nameof(backend));
        var p = cuda.Wrap((ulong)param, paramType, length);
        var g = cuda.Wrap((ulong)grad, gradType, length);
        return new Parameter(name, shape, p, g, true) { IsForeign = true };
    }

    /// <summary>Frees the buffers the library allocated (a wrapped pointer is only forgotten); buffers given by the caller stay theirs.</summary>
    public void Dispose()
    {
        if (!ownsBuffers) return;
        Param.Dispose();
        Grad.Dispose();
    }

    /// <inheritdoc />
    public override string ToString() => $"{Name} [{string.Join("x", Shape)}] {Param.ElementType.Name()}";

    /// <summary>Fills a buffer with zero bits (0.0 in every format).</summary>
    internal static void Zero(DeviceBuffer buffer)
    {
        switch (buffer.ElementType.SizeOf())
        {
            case 4: buffer.Owner.Upload<uint>(buffer, new uint[buffer.Length]); break;
            case 2: buffer.Owner.Upload<ushort>(buffer, new ushort[buffer.Length]); break;
            default: buffer.Owner.Upload<byte>(buffer, new byte[buffer.Length]); break;
        }
    }

    private static long CheckShape(string name, IReadOnlyList<int> shape)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(shape);
        if (shape.Count == 0) throw new ArgumentException($"parameter '{name}': the shape is empty (a scalar is [1])", nameof(shape));
        long length = 1;
        foreach (var d in shape)
        {
            if (d <= 0) throw new ArgumentException($"parameter '{name}': shape [{string.Join(", ", shape)}] has a dimension {d}; every dimension must be positive", nameof(shape));
            length = checked(length * d);
        }
        return length;
    }
}
