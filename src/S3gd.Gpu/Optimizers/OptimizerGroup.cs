namespace S3gd.Gpu.Optimizers;

/// <summary>A param group as the optimizer resolved it: its index, parameters, complete hyperparameters and schedule.</summary>
public sealed class OptimizerGroup
{
    internal OptimizerGroup(int index, ParamGroup source, HyperSet hypers)
    {
        Index = index;
        Source = source;
        Hypers = hypers;
    }

    /// <summary>The group's position among the optimizer's groups.</summary>
    public int Index { get; }

    /// <summary>The group as given (parameters, overrides, formats, schedule).</summary>
    public ParamGroup Source { get; }

    /// <summary>The group's parameters, in order.</summary>
    public IReadOnlyList<Parameter> Parameters => Source.Parameters;

    /// <summary>Every hyperparameter of the rule, resolved: the optimizer's values overlaid by the group's.</summary>
    public HyperSet Hypers { get; }

    /// <summary>The learning rate of step <paramref name="step"/> (1-based): the group's schedule, or its lr.</summary>
    public double LearningRate(int step) => Source.Schedule is { } s ? s(step) : Hypers.Real("lr");
}
