namespace S3gd.Gpu.Optimizers;

/// <summary>
/// Adam-mini (zyushun/Adam-mini): Adam with one second moment per block, the blocks cut from each parameter by its name
/// and shape (<c>AdamMiniPartition</c>; the parameters' names are the reference's named_parameters), no weight decay
/// for norm/ln_f names. Spec rule <c>adam-mini</c>; names and defaults as the reference.
/// </summary>
public sealed class AdamMini : StructuredOptimizer
{
    /// <summary>The optimizer over <paramref name="groups"/>; each group may override any value (<see cref="ParamGroup.With(string, double)"/>).</summary>
    /// <param name="groups">The param groups, named as the model's named_parameters() (fp32 or bf16; m fp32 or bf16 through <see cref="ParamGroup.States"/>, vmean fp32).</param>
    /// <param name="lr">The reference's <c>lr</c>.</param>
    /// <param name="beta1">The reference's <c>betas[0]</c>.</param>
    /// <param name="beta2">The reference's <c>betas[1]</c>.</param>
    /// <param name="eps">The reference's <c>eps</c>.</param>
    /// <param name="weightDecay">The reference's <c>weight_decay</c>.</param>
    /// <param name="dim">The reference's <c>dim</c> (hidden size; a query/key head is dim*dim/n_heads elements).</param>
    /// <param name="nHeads">The reference's <c>n_heads</c>.</param>
    /// <param name="nKvHeads">The reference's <c>n_kv_heads</c>; 0 stands for None (n_heads).</param>
    /// <param name="partition">"reference" (adam_mini.py 1.1.1's, the default) or "hessian" (the seed's Hessian-aware partition).</param>
    public AdamMini(
        IEnumerable<ParamGroup> groups,
        double lr = 1e-3,
        double beta1 = 0.9,
        double beta2 = 0.999,
        double eps = 1e-8,
        double weightDecay = 0.0,
        int dim = 2048,
        int nHeads = 32,
        int nKvHeads = 0,
        string partition = "reference")
        : base(nameof(AdamMini), new HyperArgs("adam-mini", nameof(AdamMini))
            .Real("lr", lr)
            .Real("beta1", beta1)
            .Real("beta2", beta2)
            .Real("eps", eps)
            .Real("weight_decay", weightDecay)
            .Whole("dim", dim)
            .Whole("n_heads", nHeads)
            .Whole("n_kv_heads", nKvHeads)
            .Word("partition", partition), groups)
    {
    }
}
