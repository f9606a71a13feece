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
public static class CpuElementwise
{
    /// <summary>The largest finite fp8 e4m3fn (E4M3_MAX).</summary>
    private const float E4M3Max = 448.0f;

    /// <summary>The largest finite fp8 e5m2 (E5M2_MAX).</summary>
    private const float E5M2Max = 57344.0f;

    private static readonly float[] DecodeE4M3 = Table(StorageFormat.Fp8E4M3);
    private static readonly float[] DecodeE5M2 = Table(StorageFormat.Fp8E5M2);

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
        Parallel.For(0, chunks.Count, () => new Scratch(), (chunk, _, scratch) =>
        {
            var index = chunks.ChunkTensor[chunk];
            var tensor = tensors[index];
            var start = (int)chunks.Start(chunk);
            StepChunk(config, scalars, tensor, index, start, Math.Min(ElementwiseLayout.Chunk, tensor.Length - start), scratch);
            return scratch;
        }, _ => { });
    }

    /// <summary>Per-thread float32 working copies of one chunk of each buffer.</summary>
    private sealed class Scratch
    {
        public readonly float[] P = new float[ElementwiseLayout.Chunk];
        public readonly float[] G = new float[ElementwiseLayout.Chunk];
        public readonly float[] Old = new float[ElementwiseLayout.Chunk];
        public readonly float[] C = new float[ElementwiseLayout.Chunk];
        public readonly float[][] S = [new float[ElementwiseLayout.Chunk], new float[ElementwiseLayout.Chunk], new float[ElementwiseLayout.Chunk]];
    }

    private static void StepChunk(ElementwiseConfig c, in StepScalars sc, CpuElementwiseTensor t, int tensor, int start, int count, Scratch w)
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
        // Whole vectors of eight lanes, then the tail one element at a time: the same operations either way.
        var whole = Vector256.IsHardwareAccelerated ? count - count % Vector256<float>.Count : 0;
        if (c.MathBf16)
        {
            if (whole > 0) StepVectors<VectorBf16Maths>(c, sc, p[..whole], g[..whole], s0[..whole], s1[..whole], s2[..whole]);
            StepSpan<Bf16Maths>(c, sc, p[whole..], g[whole..], s0[whole..], s1[whole..], s2[whole..]);
        }
        else
        {
            if (whole > 0) StepVectors<VectorMaths>(c, sc, p[..whole], g[..whole], s0[..whole], s1[..whole], s2[..whole]);
            StepSpan<ScalarMaths>(c, sc, p[whole..], g[whole..], s0[whole..], s1[whole..], s2[whole..]);
        }
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

    private static void StepSpan<M>(ElementwiseConfig c, in StepScalars sc, Span<float> p, Span<float> g, Span<float> s0, Span<float> s1, Span<float> s2)
        where M : ICpuMaths<float>
    {
        var k = new Scalars<float>(sc, M.Broadcast);
        for (var i = 0; i < p.Length; i++)
        {
            p[i] = M.Load(p[i]);
            s0[i] = M.Load(s0[i]);
            s1[i] = M.Load(s1[i]);
            s2[i] = M.Load(s2[i]);
            StepElement<float, M>(c, k, ref p[i], M.Load(g[i]), ref s0[i], ref s1[i], ref s2[i]);
        }
    }

    private static void StepVectors<M>(ElementwiseConfig c, in StepScalars sc, Span<float> p, Span<float> g, Span<float> s0, Span<float> s1, Span<float> s2)
        where M : ICpuMaths<Vector256<float>>
    {
        var k = new Scalars<Vector256<float>>(sc, M.Broadcast);
        var vp = MemoryMarshal.Cast<float, Vector256<float>>(p);
        var vg = MemoryMarshal.Cast<float, Vector256<float>>(g);
        var v0 = MemoryMarshal.Cast<float, Vector256<float>>(s0);
        var v1 = MemoryMarshal.Cast<float, Vector256<float>>(s1);
        var v2 = MemoryMarshal.Cast<float, Vector256<float>>(s2);
        for (var i = 0; i < vp.Length; i++)
        {
            vp[i] = M.Load(vp[i]);
            v0[i] = M.Load(v0[i]);
            v1[i] = M.Load(v1[i]);
            v2[i] = M.Load(v2[i]);
            StepElement<Vector256<float>, M>(c, k, ref vp[i], M.Load(vg[i]), ref v0[i], ref v1[i], ref v2[i]);
        }
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

    /// <summary>step_element of the kernel, operation for operation, in the maths M.</summary>
    private static void StepElement<T, M>(ElementwiseConfig c, in Scalars<T> sc, ref T p, T g, ref T s0, ref T s1, ref T s2)
        where T : struct
        where M : ICpuMaths<T>
    {
        if (c.GradScale) g = M.Div(g, sc.GradScale);
        if (c.Maximize) g = M.Neg(g);
        if (c.WeightDecayCoupled) g = M.Madd(sc.Wd, p, g);
        if (c.WeightDecayDecoupled) p = M.Mul(p, sc.Decay);

        switch (c.Rule)
        {
            case ElementwiseRule.Sgd:
            {
                var d = g;
                if (c.Momentum)
                {
                    s0 = sc.FirstStep ? g : M.Madd(sc.Beta1, s0, M.Mul(sc.OneMinusBeta1, g));
                    d = c.Nesterov ? M.Madd(sc.Beta1, s0, g) : s0;
                }
                p = M.Madd(sc.NegLr, d, p);
                break;
            }
            case ElementwiseRule.Adam:
            {
                s0 = M.Madd(sc.Beta1, s0, M.Mul(sc.OneMinusBeta1, g));
                s1 = M.Madd(sc.Beta2, s1, M.Mul(sc.OneMinusBeta2, M.Mul(g, g)));
                var v = s1;
                if (c.Amsgrad)
                {
                    s2 = M.Max(s2, s1);
                    v = s2;
                }
                var denom = M.Madd(M.Root(v), sc.InvSqrtBc2, sc.Eps);
                p = M.Madd(sc.NegStepSize, M.Div(s0, denom), p);
                break;
            }
            case ElementwiseRule.RmsProp:
            {
                s0 = M.Madd(sc.Beta1, s0, M.Mul(sc.OneMinusBeta1, M.Mul(g, g)));
                T avg;
                if (c.Centered)
                {
                    s2 = M.Madd(sc.Beta1, s2, M.Mul(sc.OneMinusBeta1, g));
                    avg = M.Add(M.Root(M.Madd(M.Neg(s2), s2, s0)), sc.Eps);
                }
                else avg = M.Add(M.Root(s0), sc.Eps);
                if (c.Momentum)
                {
                    s1 = M.Madd(sc.Beta2, s1, M.Div(g, avg));
                    p = M.Madd(sc.NegLr, s1, p);
                }
                else p = M.Madd(sc.NegLr, M.Div(g, avg), p);
                break;
            }
            case ElementwiseRule.S3gd:
                s0 = M.Madd(sc.Beta1, s0, M.Mul(sc.OneMinusBeta1, M.Sign(g)));
                p = M.Madd(sc.NegLr, s0, p);
                break;
            case ElementwiseRule.Lion:
            {
                var u = M.Sign(M.Madd(sc.Beta1, s0, M.Mul(sc.OneMinusBeta1, g)));
                p = M.Madd(sc.NegLr, u, p);
                s0 = M.Madd(sc.Beta2, s0, M.Mul(sc.OneMinusBeta2, g));
                break;
            }
            case ElementwiseRule.Signum:
            {
                s0 = M.Madd(sc.Beta1, s0, M.Mul(sc.OneMinusBeta1, g));
                var u = c.Nesterov ? M.Sign(M.Madd(sc.NesterovM, s0, M.Mul(sc.NesterovG, g))) : M.Sign(s0);
                p = M.Madd(sc.NegLr, u, p);
                break;
            }
            case ElementwiseRule.LaProp:
            {
                s1 = M.Madd(sc.Beta2, s1, M.Mul(sc.OneMinusBeta2, M.Mul(g, g)));
                var denom = M.Madd(M.Root(s1), sc.InvSqrtBc2, sc.Eps);
                s0 = M.Madd(sc.Beta1, s0, M.Mul(sc.OneMinusBeta1, M.Div(g, denom)));
                p = M.Madd(sc.NegStepSize, s0, p);
                break;
            }
            case ElementwiseRule.AdEMAMix:
            {
                var fast = g;
                if (!c.FastIsGrad)
                {
                    s0 = M.Madd(sc.Beta1, s0, M.Mul(sc.OneMinusBeta1, g));
                    fast = s0;
                }
                s1 = M.Madd(sc.Beta3, s1, M.Mul(sc.OneMinusBeta3, g));
                s2 = M.Madd(sc.Beta2, s2, M.Mul(sc.OneMinusBeta2, M.Mul(g, g)));
                var denom = M.Madd(M.Root(s2), sc.InvSqrtBc2, sc.Eps);
                p = M.Madd(sc.NegLr, M.Div(M.Madd(sc.Alpha, s1, M.Mul(fast, sc.InvBc1)), denom), p);
                break;
            }
            case ElementwiseRule.MAdam:
            {
                s0 = M.Madd(sc.Beta1, s0, M.Mul(sc.OneMinusBeta1, g));
                var cg = M.Mul(g, sc.Alpha);
                s1 = M.Madd(sc.Beta2, s1, M.Mul(sc.OneMinusBeta2, M.Mul(cg, cg)));
                var u = M.Mul(M.Div(M.Mul(s0, sc.InvBc1), M.Mul(M.Root(s1), sc.InvSqrtBc2)), sc.Alpha);
                p = M.Madd(sc.NegLr, M.ZeroWhereZero(s0, u), p);
                break;
            }
            case ElementwiseRule.SimAdEMAMix:
            {
                s0 = M.Madd(sc.Beta1, s0, g);
                s1 = M.Madd(sc.Beta2, s1, M.Mul(sc.OneMinusBeta2, M.Mul(g, g)));
                var denom = M.Madd(M.Root(s1), sc.InvSqrtBc2, sc.Eps);
                p = M.Madd(sc.NegLr, M.Div(M.Madd(sc.Alpha, g, M.Mul(s0, sc.InvBc1)), denom), p);
                break;
            }
        }
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
                CpuConvert.DecodeFp8(f.IsFp8E4M3 ? DecodeE4M3 : DecodeE5M2, data.AsSpan(start, x.Length), x);
                if (scales is not null)
                {
                    var s = MemoryMarshal.Cast<byte, float>(scales.AsSpan());
                    // Runs of elements under one scale: x[i] *= s[(start + i) / ScaleBlock].
                    for (var i = 0; i < x.Length;)
                    {
                        var block = (start + i) / ElementwiseLayout.ScaleBlock;
                        var end = Math.Min(x.Length, (block + 1) * ElementwiseLayout.ScaleBlock - start);
                        CpuConvert.Multiply(x[i..end], s[block]);
                        i = end;
                    }
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

    private static float[] Table(StorageFormat f) =>
        Enumerable.Range(0, 256).Select(code => (float)StorageFormatModule.decode(f, (uint)code)).ToArray();
}
