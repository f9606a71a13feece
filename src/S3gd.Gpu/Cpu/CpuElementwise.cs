using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using S3gd.Gpu.Elementwise;
using S3gd.Spec.Formats;

namespace S3gd.Gpu.Cpu;

/// <summary>One tensor of a CPU elementwise step: the raw element bytes of every buffer, as the CPU backend holds them.</summary>
/// <param name="Param">The parameter codes (fp32 or bf16), updated in place.</param>
/// <param name="Grad">The gradient codes (fp32 or bf16).</param>
/// <param name="States">The three state slots' codes (null where the configuration keeps no such buffer), updated in place.</param>
/// <param name="Scales">The three state slots' float32 block scales (null unless the slot is block-scaled fp8), updated in place.</param>
/// <param name="Length">Elements of the parameter.</param>
/// <param name="Compensation">The bf16 Kahan compensation codes (with <see cref="ParamUpdate.Kahan"/>, else null), updated in place.</param>
public sealed record CpuElementwiseTensor(
    byte[] Param, byte[] Grad, IReadOnlyList<byte[]?> States, IReadOnlyList<byte[]?> Scales, int Length, byte[]? Compensation = null);

/// <summary>
/// The CPU twin of <c>Cuda/Kernels/elementwise.cu</c>: the same float32 operations in the same order (MathF.FusedMultiplyAdd
/// where the kernel has fmaf, nothing else fused), the same conversions and block scales, so results are equal bit for bit
/// (NaN payloads aside). Parallel over the kernel's chunks.
/// </summary>
public static partial class CpuElementwise
{
    /// <summary>The largest finite fp8 e4m3fn (E4M3_MAX).</summary>
    private const float E4M3Max = 448.0f;

    /// <summary>The largest finite fp8 e5m2 (E5M2_MAX).</summary>
    private const float E5M2Max = 57344.0f;

    /// <summary>
    /// One step over every tensor. A set <paramref name="foundInf"/> (with <see cref="ElementwiseConfig.FoundInf"/>)
    /// makes it a no-op, as the kernel's device flag does.
    /// </summary>
    public static void Step(ElementwiseConfig config, StepScalars scalars, IReadOnlyList<CpuElementwiseTensor> tensors, bool foundInf = false)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(tensors);
        if (config.FoundInf && foundInf) return;
        for (var i = 0; i < tensors.Count; i++)
            if (config.HasCompensation && tensors[i].Compensation is null)
                throw new ArgumentException($"tensors[{i}].Compensation is missing: paramUpdate=kahan keeps one", nameof(tensors));
        var chunks = new ElementwiseChunks(tensors.Select(t => (long)t.Length).ToArray());
        var broadcasts = new Broadcasts(scalars, config.MathBf16);
        Parallel.For(0, chunks.Count, chunk =>
        {
            var scratch = Scratch.Local;
            var index = chunks.ChunkTensor[chunk];
            var tensor = tensors[index];
            var start = (int)chunks.Start(chunk);
            var count = Math.Min(ElementwiseLayout.Chunk, tensor.Length - start);
            for (var at = 0; at < count; at += Piece) StepPiece(config, scalars, broadcasts, tensor, index, start + at, Math.Min(Piece, count - at), scratch);
        });
    }

    /// <summary>
    /// Elements of a chunk stepped at a time, so that the float32 working copies of every buffer stay in the L1 cache: eight
    /// scale blocks (each piece holds whole blocks, the chunk being a multiple of it).
    /// </summary>
    private const int Piece = 8 * ElementwiseLayout.ScaleBlock;

    /// <summary>Per-thread float32 working copies of one piece of each buffer (kept by each thread between steps).</summary>
    private sealed class Scratch
    {
        [ThreadStatic] private static Scratch? local;

        /// <summary>This thread's scratch.</summary>
        public static Scratch Local => local ??= new Scratch();

        public readonly float[] P = new float[Piece];
        public readonly float[] G = new float[Piece];
        public readonly float[] Old = new float[Piece];
        public readonly float[] C = new float[Piece];
        public readonly float[][] S = [new float[Piece], new float[Piece], new float[Piece]];
    }

    private static void StepPiece(ElementwiseConfig c, in StepScalars sc, Broadcasts b, CpuElementwiseTensor t, int tensor, int start, int count, Scratch w)
    {
        // float32 buffers are stepped where they lie; the others are decoded into the scratch and encoded back.
        var p = View(c.Param, t.Param, null, start, w.P.AsSpan(0, count));
        var g = View(c.Grad, t.Grad, null, start, w.G.AsSpan(0, count));
        Span<float> Slot(int k)
        {
            var scratch = w.S[k].AsSpan(0, count);
            if (c.States[k] is { } f) return View(f.Format, t.States[k]!, f.BlockScaled ? t.Scales[k] : null, start, scratch);
            scratch.Clear();
            return scratch;
        }
        var s0 = Slot(0);
        var s1 = Slot(1);
        var s2 = Slot(2);
        // Kahan compensation needs the parameter before the step; the other updates do not.
        var old = w.Old.AsSpan(0, count);
        if (c.ParamUpdate == ParamUpdate.Kahan) p.CopyTo(old);
        StepMaths(c, b, p, g, s0, s1, s2);
        switch (c.ParamUpdate)
        {
            case ParamUpdate.Kahan:
            {
                var comp = View(StorageFormat.Bf16, t.Compensation!, null, start, w.C.AsSpan(0, count));
                CpuKahan.Update(p, old, comp);
                Store(StorageFormat.Bf16, t.Compensation!, null, start, comp);
                break;
            }
            case ParamUpdate.Stochastic:
                StochasticRounding.Round(p, StochasticRounding.Stream(sc.Seed, sc.Step, (uint)tensor), start);
                break;
        }
        Store(c.Param, t.Param, null, start, p);
        for (var k = 0; k < 3; k++)
            if (c.States[k] is { } f) Store(f.Format, t.States[k]!, f.BlockScaled ? t.Scales[k] : null, start, k == 0 ? s0 : k == 1 ? s1 : s2);
    }

    /// <summary>The rule R over a piece: whole vectors of eight lanes, then the tail one element at a time (the same operations either way).</summary>
    private static void StepRule<R>(ElementwiseConfig c, Broadcasts b, Span<float> p, Span<float> g, Span<float> s0, Span<float> s1, Span<float> s2)
        where R : struct, IRuleStep
    {
        var whole = Vector256.IsHardwareAccelerated ? p.Length - p.Length % Vector256<float>.Count : 0;
        if (c.MathBf16)
        {
            if (whole > 0) StepVectors<VectorBf16Maths, R>(c, b, p[..whole], g[..whole], s0[..whole], s1[..whole], s2[..whole]);
            StepSpan<Bf16Maths, R>(c, b, p[whole..], g[whole..], s0[whole..], s1[whole..], s2[whole..]);
        }
        else
        {
            if (whole > 0) StepVectors<VectorMaths, R>(c, b, p[..whole], g[..whole], s0[..whole], s1[..whole], s2[..whole]);
            StepSpan<ScalarMaths, R>(c, b, p[whole..], g[whole..], s0[whole..], s1[whole..], s2[whole..]);
        }
    }

    private static void StepSpan<M, R>(ElementwiseConfig c, Broadcasts b, Span<float> p, Span<float> g, Span<float> s0, Span<float> s1, Span<float> s2)
        where M : ICpuMaths<float>
        where R : struct, IRuleStep
    {
        ref readonly var k = ref b.One;
        for (var i = 0; i < p.Length; i++)
        {
            p[i] = M.Load(p[i]);
            s0[i] = M.Load(s0[i]);
            s1[i] = M.Load(s1[i]);
            s2[i] = M.Load(s2[i]);
            StepElement<float, M, R>(c, k, ref p[i], M.Load(g[i]), ref s0[i], ref s1[i], ref s2[i]);
        }
    }

    private static void StepVectors<M, R>(ElementwiseConfig c, Broadcasts b, Span<float> p, Span<float> g, Span<float> s0, Span<float> s1, Span<float> s2)
        where M : ICpuMaths<Vector256<float>>
        where R : struct, IRuleStep
    {
        ref readonly var k = ref b.Lanes;
        var vp = MemoryMarshal.Cast<float, Vector256<float>>(p);
        var vg = MemoryMarshal.Cast<float, Vector256<float>>(g);
        var v0 = MemoryMarshal.Cast<float, Vector256<float>>(s0);
        var v1 = MemoryMarshal.Cast<float, Vector256<float>>(s1);
        var v2 = MemoryMarshal.Cast<float, Vector256<float>>(s2);
        for (var i = 0; i < vp.Length; i++)
        {
            // Locals, not the spans' elements, through the step: the lanes stay in registers.
            var pi = M.Load(vp[i]);
            var x0 = M.Load(v0[i]);
            var x1 = M.Load(v1[i]);
            var x2 = M.Load(v2[i]);
            StepElement<Vector256<float>, M, R>(c, k, ref pi, M.Load(vg[i]), ref x0, ref x1, ref x2);
            vp[i] = pi;
            v0[i] = x0;
            v1[i] = x1;
            v2[i] = x2;
        }
    }

    /// <summary>The per-step scalars in the configuration's maths, one element and eight lanes, made once per step.</summary>
    private sealed class Broadcasts(in StepScalars sc, bool bf16)
    {
        /// <summary>For one element (<see cref="ScalarMaths"/> or <see cref="Bf16Maths"/>).</summary>
        public readonly Scalars<float> One = bf16 ? new(sc, Bf16Maths.Broadcast) : new(sc, ScalarMaths.Broadcast);

        /// <summary>For eight lanes (<see cref="VectorMaths"/> or <see cref="VectorBf16Maths"/>).</summary>
        public readonly Scalars<Vector256<float>> Lanes = bf16 ? new(sc, VectorBf16Maths.Broadcast) : new(sc, VectorMaths.Broadcast);
    }

    /// <summary>The per-step scalars in the maths' type.</summary>
    private readonly struct Scalars<T>(in StepScalars sc, Func<float, T> b) where T : struct
    {
        public readonly T Lr = b(sc.Lr), NegLr = b(-sc.Lr), Decay = b(sc.Decay), Wd = b(sc.Wd), Beta1 = b(sc.Beta1), OneMinusBeta1 = b(sc.OneMinusBeta1);
        public readonly T Beta2 = b(sc.Beta2), OneMinusBeta2 = b(sc.OneMinusBeta2), NegStepSize = b(-sc.StepSize), InvSqrtBc2 = b(sc.InvSqrtBc2);
        public readonly T NesterovM = b(sc.NesterovM), NesterovG = b(sc.NesterovG), Beta3 = b(sc.Beta3), OneMinusBeta3 = b(sc.OneMinusBeta3);
        public readonly T Alpha = b(sc.Alpha), InvBc1 = b(sc.InvBc1), Eps = b(sc.Eps), GradScale = b(sc.GradScale);
        public readonly bool FirstStep = sc.FirstStep != 0;
    }

    /// <summary>step_element of the kernel, operation for operation, in the maths M: the gradient's preparation, then the rule R.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StepElement<T, M, R>(ElementwiseConfig c, in Scalars<T> sc, ref T p, T g, ref T s0, ref T s1, ref T s2)
        where T : struct
        where M : ICpuMaths<T>
        where R : struct, IRuleStep
    {
        if (c.GradScale) g = M.Div(g, sc.GradScale);
        if (c.Maximize) g = M.Neg(g);
        if (c.WeightDecayCoupled) g = M.Madd(sc.Wd, p, g);
        if (c.WeightDecayDecoupled) p = M.Mul(p, sc.Decay);
        R.Step<T, M>(c, sc, ref p, g, ref s0, ref s1, ref s2);
    }

    /// <summary>
    /// Elements [start, start+scratch.Length) of a buffer as float32: the buffer itself when it is float32 (stepped in
    /// place), else decoded into the scratch, times their block scale where <paramref name="scales"/> is given.
    /// </summary>
    private static Span<float> View(StorageFormat f, byte[] data, byte[]? scales, int start, Span<float> scratch)
    {
        var x = scratch;
        switch (f.Tag)
        {
            case StorageFormat.Tags.Fp32:
                return MemoryMarshal.Cast<byte, float>(data.AsSpan()).Slice(start, scratch.Length);
            case StorageFormat.Tags.Bf16:
                CpuConvert.DecodeBf16(MemoryMarshal.Cast<byte, ushort>(data.AsSpan()).Slice(start, x.Length), x);
                return x;
            default:
            {
                var table = f.IsFp8E4M3 ? CpuConvert.DecodeE4M3 : CpuConvert.DecodeE5M2;
                if (scales is null)
                {
                    CpuConvert.DecodeFp8(table, data.AsSpan(start, x.Length), 1.0f, x);
                    return x;
                }
                var s = MemoryMarshal.Cast<byte, float>(scales.AsSpan());
                // Runs of elements under one scale: x[i] = table[code] * s[(start + i) / ScaleBlock].
                for (var i = 0; i < x.Length;)
                {
                    var block = (start + i) / ElementwiseLayout.ScaleBlock;
                    var end = Math.Min(x.Length, (block + 1) * ElementwiseLayout.ScaleBlock - start);
                    CpuConvert.DecodeFp8(table, data.AsSpan(start + i, end - i), s[block], x[i..end]);
                    i = end;
                }
                return x;
            }
        }
    }

    /// <summary>Encodes x into elements [start, start+x.Length) of a buffer (a float32 one is already there); with <paramref name="scales"/>, block-scaled (store_scaled).</summary>
    private static void Store(StorageFormat f, byte[] data, byte[]? scales, int start, Span<float> x)
    {
        switch (f.Tag)
        {
            case StorageFormat.Tags.Fp32:
                // A float32 buffer was stepped in place (View).
                break;
            case StorageFormat.Tags.Bf16:
                CpuConvert.EncodeBf16(x, MemoryMarshal.Cast<byte, ushort>(data.AsSpan()).Slice(start, x.Length));
                break;
            default:
            {
                var e4m3 = f.IsFp8E4M3;
                var codes = data.AsSpan(start, x.Length);
                if (scales is null)
                {
                    CpuConvert.EncodeFp8(e4m3, x, 1.0f, codes);
                    break;
                }
                var s = MemoryMarshal.Cast<byte, float>(scales.AsSpan());
                for (var b = 0; b < x.Length; b += ElementwiseLayout.ScaleBlock)
                {
                    var block = x.Slice(b, Math.Min(ElementwiseLayout.ScaleBlock, x.Length - b));
                    var absmax = CpuConvert.AbsMax(block);
                    var scale = absmax == 0.0f ? 1.0f : absmax / (e4m3 ? E4M3Max : E5M2Max);
                    CpuConvert.EncodeFp8(e4m3, block, scale, codes.Slice(b, block.Length));
                    s[(start + b) / ElementwiseLayout.ScaleBlock] = scale;
                }
                break;
            }
        }
    }
}
