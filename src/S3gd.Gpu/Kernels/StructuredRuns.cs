using System.Runtime.CompilerServices;
using ILGPU;
using S3gd.Gpu.Maths;
using S3gd.Gpu.Structured;

namespace S3gd.Gpu.Kernels;

/// <summary>
/// One pass of a structured kernel over a lane's runs (<see cref="StructuredLayout"/>): loads a run into registers, then
/// finishes it (maths and stores). A struct holding the lane's segment and what it accumulates.
/// </summary>
/// <typeparam name="TRun">A run's loaded values.</typeparam>
public interface IRunPass<TRun> where TRun : struct
{
    /// <summary>Loads the lane's run <paramref name="u"/>.</summary>
    void Load(ArrayView<byte> memory, int u, out TRun run);

    /// <summary>Computes and stores a loaded run.</summary>
    void Finish(ArrayView<byte> memory, ref TRun run);
}

/// <summary>
/// How many runs a lane has in flight (the launch layout, <see cref="StructuredLaunch.Unroll"/>): their loads are all
/// issued before any maths; the runs are finished in order, so results never depend on it. Each count is its own type,
/// its runs in named locals (never an indexed array, which would live in local memory).
/// </summary>
public interface IRunsInFlight
{
    /// <summary>Runs per turn.</summary>
    int Count { get; }

    /// <summary>Runs <paramref name="u0"/> .. <paramref name="u0"/> + Count - 1 of the pass.</summary>
    void Turn<TPass, TRun>(ArrayView<byte> memory, ref TPass pass, int u0)
        where TPass : struct, IRunPass<TRun>
        where TRun : struct;
}

/// <summary>One run at a time.</summary>
public readonly struct OneRun : IRunsInFlight
{
    /// <inheritdoc />
    public int Count => 1;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Turn<TPass, TRun>(ArrayView<byte> memory, ref TPass pass, int u0)
        where TPass : struct, IRunPass<TRun>
        where TRun : struct
    {
        pass.Load(memory, u0, out var a);
        pass.Finish(memory, ref a);
    }
}

/// <summary>Two runs in flight.</summary>
public readonly struct TwoRuns : IRunsInFlight
{
    /// <inheritdoc />
    public int Count => 2;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Turn<TPass, TRun>(ArrayView<byte> memory, ref TPass pass, int u0)
        where TPass : struct, IRunPass<TRun>
        where TRun : struct
    {
        pass.Load(memory, u0, out var a);
        pass.Load(memory, u0 + 1, out var b);
        pass.Finish(memory, ref a);
        pass.Finish(memory, ref b);
    }
}

/// <summary>Four runs in flight.</summary>
public readonly struct FourRuns : IRunsInFlight
{
    /// <inheritdoc />
    public int Count => 4;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Turn<TPass, TRun>(ArrayView<byte> memory, ref TPass pass, int u0)
        where TPass : struct, IRunPass<TRun>
        where TRun : struct
    {
        pass.Load(memory, u0, out var a);
        pass.Load(memory, u0 + 1, out var b);
        pass.Load(memory, u0 + 2, out var c);
        pass.Load(memory, u0 + 3, out var d);
        pass.Finish(memory, ref a);
        pass.Finish(memory, ref b);
        pass.Finish(memory, ref c);
        pass.Finish(memory, ref d);
    }
}

/// <summary>A lane's place in its segment's warp (<see cref="StructuredLayout"/>) and the warp's sums.</summary>
public static class StructuredWarp
{
    /// <summary>The first element of run <paramref name="u"/> of lane <paramref name="lane"/>, relative to the segment's start.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long RunAt(int u, int lane) => ((long)u * StructuredLayout.WarpSize + lane) * StructuredLayout.Vec;

    /// <summary>The warp's sum in lane 0, halved by shuffles down (offsets 16, 8, ..., 1; the other lanes hold partial sums).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum<M>(float x) where M : struct, IMaths<float>
    {
        for (var offset = StructuredLayout.WarpSize / 2; offset > 0; offset /= 2) x = default(M).Add(x, Warp.ShuffleDown(x, offset));
        return x;
    }

    /// <summary>The warp's total of a count in lane 0 (every lane calls it).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Total(uint x)
    {
        for (var offset = StructuredLayout.WarpSize / 2; offset > 0; offset /= 2) x += Warp.ShuffleDown(x, offset);
        return x;
    }
}
