using System.Numerics;
using System.Runtime.InteropServices;
using S3gd.Gpu.Kernels;
using S3gd.Gpu.Muon;

namespace S3gd.Gpu.Cpu;

/// <summary>
/// Muon on the CPU in float32: the momentum and the parameter update are the kernels' operations (<see cref="MuonKernels"/>,
/// bit for bit, no fused multiply-add); Newton–Schulz runs in float32 (the CUDA backend runs it in bf16), with the transpose trick,
/// products of rows in <see cref="Vector{T}"/> lanes and A exactly symmetric (A[i,j] and A[j,i] are the same dot product).
/// </summary>
internal static class CpuMuon
{
    /// <summary>torch.lerp on one float32: the kernels' <see cref="MuonMaths.Lerp{M}"/>.</summary>
    internal static float Lerp(float start, float end, float weight) => MuonMaths.Lerp<ScalarMaths>(start, end, weight);

    /// <summary>buf &lt;- lerp(buf, g, 1 - momentum); returns the update lerp(g, buf, momentum) (Nesterov) or buf.</summary>
    internal static float[] Momentum(MuonConfig config, ReadOnlySpan<float> grad, Span<float> buffer)
    {
        var toGrad = (float)(1.0 - config.Momentum);
        var momentum = (float)config.Momentum;
        var update = new float[grad.Length];
        for (var i = 0; i < grad.Length; i++)
        {
            buffer[i] = Lerp(buffer[i], grad[i], toGrad);
            update[i] = config.Nesterov ? Lerp(grad[i], buffer[i], momentum) : buffer[i];
        }
        return update;
    }

    /// <summary>
    /// Newton–Schulz of a rows x cols row-major matrix in float32, in place: X / max(||X||_F, eps) (torch's Muon) or, with
    /// <paramref name="addEps"/>, X / (||X||_F + eps) (OAdamW's MuonProjector), the sum of squares in float64; then ns_steps
    /// of A = X X^T, B = b A + c A A, X = a X + B X on the wide orientation.
    /// </summary>
    internal static void NewtonSchulz(MuonConfig config, float[] matrix, int rows, int cols, bool addEps = false)
    {
        var tall = rows > cols;
        var (m, n) = tall ? (cols, rows) : (rows, cols);
        var x = tall ? Transpose(matrix, rows, cols) : (float[])matrix.Clone();
        double squares = 0;
        foreach (var v in x) squares += (double)v * v;
        var norm = (float)Math.Sqrt(squares);
        var denominator = addEps ? norm + (float)config.Eps : MathF.Max(norm, (float)config.Eps);
        for (var i = 0; i < x.Length; i++) x[i] /= denominator;
        var (a, b, c) = ((float)config.A, (float)config.B, (float)config.C);
        var gram = new float[m * m];
        var poly = new float[m * m];
        var next = new float[m * n];
        for (var step = 0; step < config.NsSteps; step++)
        {
            Gram(x, m, n, gram);
            // B = b A + c A A, with A A [i,j] = row i of A . row j of A (A symmetric).
            Parallel.For(0, m, i =>
            {
                var ai = gram.AsSpan(i * m, m);
                for (var j = 0; j < m; j++) poly[i * m + j] = b * ai[j] + c * Dot(ai, gram.AsSpan(j * m, m));
            });
            // X' = a X + B X, row by row: a X[i] + sum_l B[i,l] X[l].
            Parallel.For(0, m, i =>
            {
                var row = next.AsSpan(i * n, n);
                row.Clear();
                for (var l = 0; l < m; l++) AddScaled(row, poly[i * m + l], x.AsSpan(l * n, n));
                for (var k = 0; k < n; k++) row[k] = a * x[i * n + k] + row[k];
            });
            (x, next) = (next, x);
        }
        if (tall) Transpose(x, m, n).CopyTo(matrix, 0);
        else x.CopyTo(matrix, 0);
    }

    /// <summary>p &lt;- p * decay, then p &lt;- p - lr' * o: torch's two float32 operations, each rounded.</summary>
    internal static void Update(Span<float> param, ReadOnlySpan<float> orthogonal, float decay, float adjustedLr)
    {
        for (var i = 0; i < param.Length; i++)
        {
            var decayed = param[i] * decay;
            param[i] = decayed - adjustedLr * orthogonal[i];
        }
    }

    /// <summary>A = X X^T of an m x n row-major X: each entry one dot product, computed once for both halves.</summary>
    private static void Gram(float[] x, int m, int n, float[] gram) =>
        Parallel.For(0, m, i =>
        {
            var xi = x.AsSpan(i * n, n);
            for (var j = 0; j <= i; j++) gram[i * m + j] = gram[j * m + i] = Dot(xi, x.AsSpan(j * n, n));
        });

    /// <summary>x . y in float32, lane-wise partial sums added at the end.</summary>
    private static float Dot(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        var lanes = Vector<float>.Count;
        var vx = MemoryMarshal.Cast<float, Vector<float>>(x);
        var vy = MemoryMarshal.Cast<float, Vector<float>>(y);
        var sum = Vector<float>.Zero;
        for (var k = 0; k < vx.Length; k++) sum += vx[k] * vy[k];
        var total = Vector.Sum(sum);
        for (var k = vx.Length * lanes; k < x.Length; k++) total += x[k] * y[k];
        return total;
    }

    /// <summary>row &lt;- row + s * x in float32.</summary>
    private static void AddScaled(Span<float> row, float s, ReadOnlySpan<float> x)
    {
        var lanes = Vector<float>.Count;
        var vr = MemoryMarshal.Cast<float, Vector<float>>(row);
        var vx = MemoryMarshal.Cast<float, Vector<float>>(x);
        var scale = new Vector<float>(s);
        for (var k = 0; k < vr.Length; k++) vr[k] += scale * vx[k];
        for (var k = vr.Length * lanes; k < row.Length; k++) row[k] += s * x[k];
    }

    private static float[] Transpose(float[] source, int rows, int cols)
    {
        var result = new float[source.Length];
        for (var i = 0; i < rows; i++)
            for (var j = 0; j < cols; j++) result[j * rows + i] = source[i * cols + j];
        return result;
    }
}
