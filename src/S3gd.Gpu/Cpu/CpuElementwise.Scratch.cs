using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using S3gd.Gpu.Elementwise;
using S3gd.Spec.Formats;

namespace S3gd.Gpu.Cpu;

/// <summary>The elementwise step's float32 working copies: the per-thread scratch, and whole spans of a buffer decoded into it and encoded from it.</summary>
public static partial class CpuElementwise
{
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
        public readonly float[] Block = new float[ElementwiseLayout.ScaleBlock];
        public readonly float[][] S = [new float[Piece], new float[Piece], new float[Piece]];
    }

    /// <summary>
    /// Elements [start, start+scratch.Length) of a buffer as float32: the buffer itself when it is float32 (stepped in
    /// place), else decoded into the scratch, times their block scale where <paramref name="scales"/> is given.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
                var e4m3 = f.IsFp8E4M3;
                if (scales is null)
                {
                    CpuConvert.DecodeFp8(e4m3, data.AsSpan(start, x.Length), 1.0f, x);
                    return x;
                }
                // Runs of elements under one scale: x[i] = table[code] * 2^(e - 127), e = scales[(start + i) / ScaleBlock].
                for (var i = 0; i < x.Length;)
                {
                    var block = (start + i) / ElementwiseLayout.ScaleBlock;
                    var end = Math.Min(x.Length, (block + 1) * ElementwiseLayout.ScaleBlock - start);
                    CpuConvert.DecodeFp8(e4m3, data.AsSpan(start + i, end - i), Kernels.E8M0Scale.Scale(scales[block]), x[i..end]);
                    i = end;
                }
                return x;
            }
        }
    }

    /// <summary>Encodes x into elements [start, start+x.Length) of a buffer (a float32 one is already there); with <paramref name="scales"/>, block-scaled (store_scaled).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
                // A piece starts a block (chunks and pieces are whole blocks).
                var blocks = scales.AsSpan(start / ElementwiseLayout.ScaleBlock, (x.Length + ElementwiseLayout.ScaleBlock - 1) / ElementwiseLayout.ScaleBlock);
                CpuConvert.EncodeFp8Scaled(e4m3, x, ElementwiseLayout.ScaleBlock, blocks, codes);
                break;
            }
        }
    }
}
