using System.Runtime.InteropServices;

namespace S3gd.Gpu.Kernels;

/// <summary>The matrix product's arguments (<see cref="MlpKernels.MatMul"/>): float32 operands, row-major strides in elements.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct MatMulArgs
{
    /// <summary>Address of the left operand's element (0, 0).</summary>
    public ulong A;
    /// <summary>Address of the right operand's element (0, 0).</summary>
    public ulong B;
    /// <summary>Address of the output, packed [M x N].</summary>
    public ulong C;
    /// <summary>Address of the bias (one per output column), when the kernel adds one.</summary>
    public ulong Bias;
    /// <summary>Address of a tanh output [M x N] whose derivative multiplies the result, when the kernel applies one.</summary>
    public ulong TanhOutput;
    /// <summary>Elements between rows of A.</summary>
    public int ARow;
    /// <summary>Elements between columns of A (along k).</summary>
    public int AInner;
    /// <summary>Elements between rows of B (along k).</summary>
    public int BInner;
    /// <summary>Elements between columns of B.</summary>
    public int BCol;
    /// <summary>Output rows.</summary>
    public int M;
    /// <summary>Output columns.</summary>
    public int N;
    /// <summary>Terms per sum.</summary>
    public int K;
}

/// <summary>Softmax cross-entropy's arguments (<see cref="MlpKernels.SoftmaxCrossEntropy"/>).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct SoftmaxArgs
{
    /// <summary>Address of the logits [Rows x Classes].</summary>
    public ulong Logits;
    /// <summary>Address of the first row's label (a float32 class).</summary>
    public ulong Labels;
    /// <summary>Address of the logits' gradient [Rows x Classes], when the kernel writes it.</summary>
    public ulong Gradient;
    /// <summary>Address of the per-row statistics: loss, then 1 where the row is classified right.</summary>
    public ulong Stats;
    /// <summary>Rows.</summary>
    public int Rows;
    /// <summary>Classes (logits per row).</summary>
    public int Classes;
    /// <summary>The gradient's factor.</summary>
    public float Scale;
}

/// <summary>The column sums' arguments (<see cref="MlpKernels.ColumnSum"/>).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct ColumnSumArgs
{
    /// <summary>Address of the values [Rows x Cols].</summary>
    public ulong Values;
    /// <summary>Address of the sums, one per column.</summary>
    public ulong Sums;
    /// <summary>Rows.</summary>
    public int Rows;
    /// <summary>Columns.</summary>
    public int Cols;
}
