using System.Runtime.InteropServices;

namespace S3gd.Gpu.Kernels;

/// <summary>
/// The momentum kernel's arguments (<see cref="MuonKernels.Momentum"/>). A group's tables hold one buffer address per
/// matrix (Grid.IdxY); its bf16 work matrices lie <see cref="Length"/> elements apart from <see cref="X"/>.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct MuonMomentumArgs
{
    /// <summary>Address of the table of float32 gradient addresses.</summary>
    public ulong Grads;
    /// <summary>Address of the table of float32 momentum buffer addresses.</summary>
    public ulong Buffers;
    /// <summary>Address of the bf16 work matrices.</summary>
    public ulong X;
    /// <summary>Address of the float32 sums of squares, one per matrix (zero before the launch).</summary>
    public ulong Squares;
    /// <summary>Elements of one matrix.</summary>
    public long Length;
    /// <summary>1 - momentum: the weight of the gradient in the buffer's lerp.</summary>
    public float ToGrad;
    /// <summary>The momentum: the weight of the buffer in Nesterov's lerp.</summary>
    public float Momentum;
}

/// <summary>The normalisation's arguments (<see cref="MuonKernels.Normalise"/>).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct MuonNormaliseArgs
{
    /// <summary>Address of the bf16 work matrices.</summary>
    public ulong X;
    /// <summary>Address of the float32 sums of squares, one per matrix.</summary>
    public ulong Squares;
    /// <summary>Elements of one matrix.</summary>
    public long Length;
    /// <summary>The norm's floor or addend.</summary>
    public float Eps;
}

/// <summary>The parameter update's arguments (<see cref="MuonKernels.Update"/>).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct MuonUpdateArgs
{
    /// <summary>Address of the table of float32 parameter addresses.</summary>
    public ulong Params;
    /// <summary>Address of the bf16 orthogonalised matrices.</summary>
    public ulong X;
    /// <summary>Elements of one matrix.</summary>
    public long Length;
    /// <summary>The weight decay factor 1 - lr * wd.</summary>
    public float Decay;
    /// <summary>The shape-adjusted learning rate.</summary>
    public float AdjustedLr;
}

/// <summary>OAdamW's projection input's arguments (<see cref="MuonKernels.Load"/>).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct NsLoadArgs
{
    /// <summary>Address of the table of float32 gradient addresses.</summary>
    public ulong Grads;
    /// <summary>Address of the bf16 work matrices.</summary>
    public ulong X;
    /// <summary>Address of the float32 sums of squares, one per matrix (zero before the launch).</summary>
    public ulong Squares;
    /// <summary>Elements of one matrix.</summary>
    public long Length;
}

/// <summary>OAdamW's projection output's arguments (<see cref="MuonKernels.Store"/>).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct NsStoreArgs
{
    /// <summary>Address of the table of float32 output addresses.</summary>
    public ulong Outputs;
    /// <summary>Address of the bf16 orthogonalised matrices.</summary>
    public ulong X;
    /// <summary>Elements of one matrix.</summary>
    public long Length;
    /// <summary>The factor on every output.</summary>
    public float Scale;
}

/// <summary>The arguments of <see cref="MuonKernels.Zero"/>.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct ZeroArgs
{
    /// <summary>Address of the float32 values.</summary>
    public ulong Values;
    /// <summary>How many.</summary>
    public long Length;
}
