using System.Diagnostics;
using System.Runtime.InteropServices;

namespace S3gd.Gpu.Cpu;

/// <summary>
/// The CPU backend: every operation runs in parallel over blocks of elements on the thread pool,
/// with the same float32 arithmetic as the CUDA kernels (see <see cref="CpuConvert"/>).
/// </summary>
public sealed partial class CpuBackend : Backend
{
    /// <summary>Elements per parallel work item: large enough to amortise scheduling, small enough to balance cores.</summary>
    internal const int BlockSize = 1 << 16;

    /// <inheritdoc />
    public override BackendKind Kind => BackendKind.Cpu;

    /// <inheritdoc />
    public override string Device => $"{Environment.ProcessorCount} CPU threads ({RuntimeInformation.ProcessArchitecture}, {System.Numerics.Vector<float>.Count}-wide float vectors)";

    /// <inheritdoc />
    public override bool SupportsFp8 => true;

    /// <inheritdoc />
    protected override DeviceBuffer AllocateInternal(ElementType elementType, long length) => new CpuBuffer(this, elementType, length);

    /// <inheritdoc />
    protected override void UploadInternal(DeviceBuffer destination, ReadOnlySpan<byte> source) => source.CopyTo(Data(destination));

    /// <inheritdoc />
    protected override void DownloadInternal(DeviceBuffer source, Span<byte> destination) => Data(source).AsSpan().CopyTo(destination);

    /// <inheritdoc />
    protected override void EncodeInternal(IReadOnlyList<TensorPair> tensors) =>
        ForEachBlock(tensors, (pair, start, count) =>
            CpuConvert.Encode(pair.Destination.ElementType, Data(pair.Source), Data(pair.Destination), start, count));

    /// <inheritdoc />
    protected override void DecodeInternal(IReadOnlyList<TensorPair> tensors) =>
        ForEachBlock(tensors, (pair, start, count) =>
            CpuConvert.Decode(pair.Source.ElementType, Data(pair.Source), Data(pair.Destination), start, count));

    /// <inheritdoc />
    protected override void SynchronizeInternal()
    {
        // Every CPU operation has finished when its call returns.
    }

    /// <inheritdoc />
    protected override double TimeInternal(Action work)
    {
        var watch = Stopwatch.StartNew();
        work();
        return watch.Elapsed.TotalMilliseconds;
    }

    /// <inheritdoc />
    protected override void DisposeInternal()
    {
        // Buffers own managed memory; the backend holds nothing else.
    }

    private static byte[] Data(DeviceBuffer buffer) => ((CpuBuffer)buffer).Data;

    /// <summary>Runs <paramref name="body"/> in parallel over every block of every tensor of the list (one flat loop, as one launch).</summary>
    private static void ForEachBlock(IReadOnlyList<TensorPair> tensors, Action<TensorPair, int, int> body)
    {
        var firstBlock = new long[tensors.Count + 1];
        for (var i = 0; i < tensors.Count; i++)
            firstBlock[i + 1] = firstBlock[i] + (tensors[i].Source.Length + BlockSize - 1) / BlockSize;
        Parallel.For(0L, firstBlock[^1], block =>
        {
            var t = Array.BinarySearch(firstBlock, block);
            // BinarySearch gives the exact index of a tensor's first block, else the complement of the next one.
            var tensor = t >= 0 ? t : ~t - 1;
            while (firstBlock[tensor + 1] == firstBlock[tensor]) tensor++;
            var start = (int)((block - firstBlock[tensor]) * BlockSize);
            var count = (int)Math.Min(BlockSize, tensors[tensor].Source.Length - start);
            body(tensors[tensor], start, count);
        });
    }
}
