namespace S3gd.Gpu;

/// <summary>One tensor of a list operation: a source buffer and the destination buffer of the same length.</summary>
/// <param name="Source">The buffer read.</param>
/// <param name="Destination">The buffer written.</param>
public readonly record struct TensorPair(DeviceBuffer Source, DeviceBuffer Destination);
