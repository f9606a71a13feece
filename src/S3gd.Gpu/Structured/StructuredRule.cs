namespace S3gd.Gpu.Structured;

/// <summary>The update rules of <c>structured.cu</c>: a reduction per group of elements, then an elementwise update reading it (the kernel's RULE).</summary>
public enum StructuredRule
{
    /// <summary>StableAdamW (optimi): the per-tensor RMS of g/sqrt(v) clips the learning rate.</summary>
    StableAdamW = 1,

    /// <summary>Adam-mini: one second moment per block, the block's mean of g^2.</summary>
    AdamMini = 2,
}
