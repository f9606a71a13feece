namespace S3gd.Gpu.Muon;

/// <summary>
/// The arithmetic of a Newton–Schulz iteration on a kernel backend: the element type of its work matrices and of its
/// GEMMs' operands and results (the GEMMs accumulate in float32 either way). The CPU backend iterates in float32.
/// </summary>
public enum NsPrecision
{
    /// <summary>float32 throughout, no TF32 (OAdamW's reference, <c>G.float()</c>; OAdamW's default): ns_precision float32.</summary>
    Float32,

    /// <summary>bf16 operands and results with float32 accumulation (torch.optim.Muon's, Muon's here): ns_precision bf16.</summary>
    BFloat16,
}
