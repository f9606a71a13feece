using System.Diagnostics;
using S3gd.Gpu.Checkpoints;
using S3gd.Spec.Rules;

namespace S3gd.Gpu.Optimizers;

/// <summary>
/// An optimizer as torch.optim's: one rule over param groups, each with its own hyperparameters, formats and schedule.
/// <see cref="Step()"/> steps every group (one plan per group, built once, one launch per group); <see cref="Step(Parameter)"/>
/// steps one parameter (gradient-release loops). The optimizer owns the state buffers (disposed with it), never the parameters.
/// Step counts are per parameter, as torch's state["step"].
/// </summary>
public abstract class Optimizer : IDisposable
{
    private readonly GroupStepper[] steppers;
    private readonly Dictionary<Parameter, (int Group, int Index)> where = new(ReferenceEqualityComparer.Instance);
    private readonly int[][] steps;
    private readonly List<StepTelemetry> telemetry = [];
    private bool disposed;
    private bool telemetryEnabled;

    /// <summary>
    /// Resolves the groups (the optimizer's <paramref name="hypers"/>, overlaid by each group's overrides, checked) and
    /// asks <see cref="CreateStepper"/> for each group's state and plan. Parameters must share one backend and have
    /// distinct names, and none may be in two groups.
    /// </summary>
    protected Optimizer(string typeName, HyperArgs hypers, IEnumerable<ParamGroup> groups)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(typeName);
        ArgumentNullException.ThrowIfNull(hypers);
        ArgumentNullException.ThrowIfNull(groups);
        TypeName = typeName;
        Rule = hypers.Rule;
        var given = groups.ToArray();
        if (given.Length == 0) throw new ArgumentException($"{typeName}: at least one param group is needed", nameof(groups));
        var names = new HashSet<string>(StringComparer.Ordinal);
        Backend? backend = null;
        var resolved = new OptimizerGroup[given.Length];
        for (var g = 0; g < given.Length; g++)
        {
            var group = given[g] ?? throw new ArgumentNullException(nameof(groups), $"groups[{g}] is null");
            var args = new HyperArgs(Rule, $"{typeName} param group {g}");
            foreach (var (k, v) in group.Overrides) args.Add(k, HyperSet.FromObject(k, v));
            resolved[g] = new OptimizerGroup(g, group, args.Resolve(hypers.Values));
            for (var i = 0; i < group.Parameters.Count; i++)
            {
                var p = group.Parameters[i];
                backend ??= p.Backend;
                if (!ReferenceEquals(p.Backend, backend))
                    throw new ArgumentException($"{typeName}: parameter '{p.Name}' is on {p.Backend}, the others on {backend}", nameof(groups));
                if (!where.TryAdd(p, (g, i)))
                    throw new ArgumentException($"{typeName}: parameter '{p.Name}' is in more than one place (group {where[p].Group} and group {g})", nameof(groups));
                if (!names.Add(p.Name))
                    throw new ArgumentException($"{typeName}: two parameters are named '{p.Name}'; names must be distinct (checkpoints use them)", nameof(groups));
            }
        }
        Backend = backend!;
        Groups = resolved;
        steps = [.. resolved.Select(r => new int[r.Parameters.Count])];
        steppers = new GroupStepper[resolved.Length];
        try
        {
            for (var g = 0; g < resolved.Length; g++) steppers[g] = CreateStepper(resolved[g]);
        }
        catch
        {
            foreach (var s in steppers) s?.Dispose();
            throw;
        }
    }

    /// <summary>The optimizer's type as checkpoints record it (AdamW, Sgd, ...).</summary>
    public string TypeName { get; }

    /// <summary>The spec's rule.</summary>
    internal RuleInfo Rule { get; }

    /// <summary>The backend every parameter and state buffer lives on.</summary>
    public Backend Backend { get; }

    /// <summary>The resolved param groups.</summary>
    public IReadOnlyList<OptimizerGroup> Groups { get; }

    /// <summary>Every parameter, group by group.</summary>
    public IEnumerable<Parameter> Parameters => Groups.SelectMany(g => g.Parameters);

    /// <summary>Whether each step records <see cref="Telemetry"/> (off by default: it waits for each group's step to time it).</summary>
    public bool TelemetryEnabled
    {
        get => telemetryEnabled;
        set
        {
            telemetryEnabled = value;
            foreach (var s in steppers) s.Measure = value;
        }
    }

    /// <summary>One record per group stepped by the latest <see cref="Step()"/> or <see cref="Step(Parameter)"/> (empty with telemetry off).</summary>
    public IReadOnlyList<StepTelemetry> Telemetry => telemetry;

    /// <summary>Steps taken by a parameter (torch's state["step"]).</summary>
    public int StepCount(Parameter parameter)
    {
        var (g, i) = Locate(parameter);
        return steps[g][i];
    }

    /// <summary>The state buffers the optimizer keeps for a parameter, by name.</summary>
    public IReadOnlyList<NamedBuffer> State(Parameter parameter)
    {
        var (g, i) = Locate(parameter);
        return steppers[g].StateOf(i);
    }

    /// <summary>The formats and modes of group <paramref name="group"/>'s state beyond its dtypes (checkpoints record it).</summary>
    public string Precision(int group) => steppers[group].Precision;

    /// <summary>Steps every parameter once, group by group: one launch per group whose parameters share their step count.</summary>
    public void Step()
    {
        ThrowIfDisposed();
        telemetry.Clear();
        for (var g = 0; g < steppers.Length; g++)
        {
            var counts = steps[g];
            if (counts.All(c => c == counts[0]))
            {
                var t = counts[0] + 1;
                Timed(g, t, () => steppers[g].Step(t, Groups[g].LearningRate(t)));
                Array.Fill(counts, t);
            }
            else
                for (var i = 0; i < counts.Length; i++) StepOne(g, i);
        }
    }

    /// <summary>Steps one parameter (its group's hyperparameters, its own step count): for gradient-release loops.</summary>
    public void Step(Parameter parameter)
    {
        ThrowIfDisposed();
        var (g, i) = Locate(parameter);
        telemetry.Clear();
        StepOne(g, i);
    }

    /// <summary>
    /// Steps a float32 parameter from host memory: <paramref name="grad"/> is copied into the parameter's gradient and
    /// <paramref name="param"/> into its values, the parameter is stepped on the backend (the CPU's too: its buffers are
    /// its own memory), and the result is copied back into <paramref name="param"/>. The device buffers hold the same
    /// values afterwards.
    /// </summary>
    public void Step(Parameter parameter, Span<float> param, ReadOnlySpan<float> grad)
    {
        ThrowIfDisposed();
        Locate(parameter);
        if (parameter.Param.ElementType != ElementType.Float32 || parameter.Grad.ElementType != ElementType.Float32)
            throw new ArgumentException(
                $"parameter '{parameter.Name}': host spans are float32, the parameter is {parameter.Param.ElementType.Name()} with {parameter.Grad.ElementType.Name()} gradients",
                nameof(parameter));
        Backend.Upload<float>(parameter.Param, param);
        Backend.Upload(parameter.Grad, grad);
        Step(parameter);
        Backend.Download(parameter.Param, param);
    }

    /// <summary>Sets every library-owned gradient to zero (a gradient wrapping another framework's memory is left to it).</summary>
    public void ZeroGrad()
    {
        ThrowIfDisposed();
        foreach (var p in Parameters.Where(p => !p.IsForeign)) Parameter.Zero(p.Grad);
    }

    /// <summary>Saves the whole state to a safetensors file, atomically (see <see cref="OptimizerCheckpoint.Save"/>).</summary>
    public void Save(string path, bool includeParams = true) => OptimizerCheckpoint.Save(this, path, includeParams);

    /// <summary>Loads a checkpoint saved by the same kind of optimizer (see <see cref="OptimizerCheckpoint.Load"/>).</summary>
    public void Load(string path) => OptimizerCheckpoint.Load(this, path);

    /// <summary>Frees the state buffers and plans (not the parameters).</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        foreach (var s in steppers) s.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>The state and plan of one resolved group (called once per group by the constructor).</summary>
    protected abstract GroupStepper CreateStepper(OptimizerGroup group);

    /// <summary>Sets a parameter's step count (a checkpoint being loaded).</summary>
    internal void SetStepCount(Parameter parameter, int count)
    {
        var (g, i) = Locate(parameter);
        steps[g][i] = count;
    }

    private void StepOne(int g, int i)
    {
        var t = steps[g][i] + 1;
        Timed(g, t, () => steppers[g].Step(i, t, Groups[g].LearningRate(t)));
        steps[g][i] = t;
    }

    private void Timed(int g, int step, Action work)
    {
        if (!TelemetryEnabled)
        {
            work();
            return;
        }
        var clock = Stopwatch.StartNew();
        work();
        Backend.Synchronize();
        var r = steppers[g].Readings;
        telemetry.Add(new StepTelemetry(step, g, clock.Elapsed.TotalMilliseconds, r.MaxAbsUpdate, r.NonFiniteGrads, r.Fallbacks));
    }

    private (int Group, int Index) Locate(Parameter parameter)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        return where.TryGetValue(parameter, out var at)
            ? at
            : throw new ArgumentException($"parameter '{parameter.Name}' is not one of this {TypeName}'s parameters", nameof(parameter));
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(disposed, this);
}
