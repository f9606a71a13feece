using System.Runtime.CompilerServices;

namespace S3gd.Gpu.Cpu;

/// <summary>How the fused step's vector of bf16 parameters takes its update (<see cref="Elementwise.ParamUpdate"/>), a struct type parameter.</summary>
internal interface ICpuLaneUpdate
{
    /// <summary>
    /// The parameters to store, from their values <paramref name="old"/> before the step and <paramref name="p"/> after it;
    /// <paramref name="compensation"/> is the piece's bf16 Kahan compensation (element <paramref name="at"/> the vector's first),
    /// <paramref name="index"/> the vector's first element's index in the tensor.
    /// </summary>
    static abstract TV Apply<TV>(TV old, TV p, ref byte compensation, int at, uint stream, int index) where TV : struct;

    /// <summary>Whether the parameters it gives are bf16 values already (stored as their upper halves, <see cref="Bf16Lane.StoreRounded"/>).</summary>
    static abstract bool Rounds { get; }
}

/// <summary>Round to nearest (the parameter's store rounds).</summary>
internal readonly struct NearestLaneUpdate : ICpuLaneUpdate
{
    /// <inheritdoc />
    public static bool Rounds => false;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Apply<TV>(TV old, TV p, ref byte compensation, int at, uint stream, int index) where TV : struct => p;
}

/// <summary>Kahan-compensated (<see cref="CpuKahan"/>): the compensation is read and written back.</summary>
internal readonly struct KahanLaneUpdate : ICpuLaneUpdate
{
    /// <inheritdoc />
    public static bool Rounds => true;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Apply<TV>(TV old, TV p, ref byte compensation, int at, uint stream, int index) where TV : struct
    {
        var codes = new CpuLaneBuffer(ref compensation);
        var c = Bf16Lane.Load<TV>(codes, at);
        if (CpuLanes.IsWide<TV>())
        {
            var (wp, wc) = CpuKahan.Update(CpuLanes.Wide(old), CpuLanes.Wide(p), CpuLanes.Wide(c));
            Bf16Lane.Store(codes, at, CpuLanes.From<TV>(wc));
            return CpuLanes.From<TV>(wp);
        }
        var (np, nc) = CpuKahan.Update(CpuLanes.Narrow(old), CpuLanes.Narrow(p), CpuLanes.Narrow(c));
        Bf16Lane.Store(codes, at, CpuLanes.From<TV>(nc));
        return CpuLanes.From<TV>(np);
    }
}

/// <summary>Stochastically rounded (<see cref="StochasticRounding"/>).</summary>
internal readonly struct StochasticLaneUpdate : ICpuLaneUpdate
{
    /// <inheritdoc />
    public static bool Rounds => true;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Apply<TV>(TV old, TV p, ref byte compensation, int at, uint stream, int index) where TV : struct =>
        CpuLanes.IsWide<TV>()
            ? CpuLanes.From<TV>(StochasticRounding.Round(CpuLanes.Wide(p), stream, index))
            : CpuLanes.From<TV>(StochasticRounding.Round(CpuLanes.Narrow(p), stream, index));
}
