namespace S3gd.Gpu.Optimizers;

/// <summary>One state buffer of a parameter, by the name checkpoints use: torch's (exp_avg, ...), ".scales" for its block scales, "compensation".</summary>
/// <param name="Name">The buffer's name within its parameter's state.</param>
/// <param name="Buffer">The optimizer-owned buffer.</param>
public readonly record struct NamedBuffer(string Name, DeviceBuffer Buffer);
