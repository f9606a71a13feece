namespace S3gd.Gpu.Structured;

/// <summary>The structured update rules: a reduction per group of elements, then an elementwise update reading it (<see cref="StructuredConfig.RuleType"/> gives each its maths).</summary>
public enum StructuredRule
{
    /// <summary>StableAdamW (optimi): the per-tensor RMS of g/sqrt(v) clips the learning rate.</summary>
    StableAdamW = 1,

    /// <summary>Adam-mini: one second moment per block, the block's mean of g^2.</summary>
    AdamMini = 2,
}
