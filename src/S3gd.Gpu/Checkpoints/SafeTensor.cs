namespace S3gd.Gpu.Checkpoints;

/// <summary>One tensor of a safetensors file: its name, dtype name (<see cref="SafeTensorsDtype"/>), shape and raw little-endian bytes.</summary>
/// <param name="Name">The tensor's key in the header.</param>
/// <param name="Dtype">The dtype name: F32, BF16, F8_E4M3, ...</param>
/// <param name="Shape">The dimensions (an empty shape is a scalar).</param>
/// <param name="Data">The element bytes, exactly the shape's element count times the dtype's size.</param>
public sealed record SafeTensor(string Name, string Dtype, IReadOnlyList<long> Shape, byte[] Data);

/// <summary>A whole safetensors file: the header's <c>__metadata__</c> (string to string) and the tensors in data order.</summary>
/// <param name="Metadata">The metadata entries.</param>
/// <param name="Tensors">The tensors, by increasing data offset.</param>
public sealed record SafeTensorsContent(IReadOnlyDictionary<string, string> Metadata, IReadOnlyList<SafeTensor> Tensors);
