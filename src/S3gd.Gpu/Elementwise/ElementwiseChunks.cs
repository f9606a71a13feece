namespace S3gd.Gpu.Elementwise;

/// <summary>
/// How a list of tensors is cut into chunks (of <see cref="ElementwiseLayout.Chunk"/> elements unless given), one thread block each:
/// every tensor's first chunk and every chunk's tensor (the host side of multi_tensor_apply). A chunk starts at a
/// multiple of the chunk size within its tensor, so block scales never straddle two chunks.
/// </summary>
public sealed class ElementwiseChunks
{
    /// <summary>Cuts tensors of the given lengths (elements; zero-length tensors get no chunk) into chunks of <paramref name="chunk"/> elements, a multiple of the scale block.</summary>
    public ElementwiseChunks(IReadOnlyList<long> lengths, int chunk = ElementwiseLayout.Chunk)
    {
        ArgumentNullException.ThrowIfNull(lengths);
        if (chunk <= 0 || chunk % ElementwiseLayout.ScaleBlock != 0)
            throw new ArgumentOutOfRangeException(nameof(chunk), chunk, $"must be a positive multiple of {ElementwiseLayout.ScaleBlock}");
        ChunkSize = chunk;
        Lengths = [.. lengths];
        FirstChunk = new long[Lengths.Length];
        long total = 0;
        for (var t = 0; t < Lengths.Length; t++)
        {
            if (Lengths[t] < 0) throw new ArgumentOutOfRangeException(nameof(lengths), Lengths[t], $"tensor {t} has a negative length");
            FirstChunk[t] = total;
            total += (Lengths[t] + chunk - 1) / chunk;
        }
        if (total > int.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(lengths), total, $"{total} chunks exceed one launch's {int.MaxValue} blocks");
        ChunkTensor = new int[total];
        for (var t = 0; t < Lengths.Length; t++)
            Array.Fill(ChunkTensor, t, (int)FirstChunk[t], (int)(Lengths[t] + chunk - 1) / chunk);
    }

    /// <summary>Elements per chunk.</summary>
    public int ChunkSize { get; }

    /// <summary>Each tensor's length in elements.</summary>
    public long[] Lengths { get; }

    /// <summary>Each tensor's first chunk.</summary>
    public long[] FirstChunk { get; }

    /// <summary>Each chunk's tensor.</summary>
    public int[] ChunkTensor { get; }

    /// <summary>The number of chunks (thread blocks of one launch).</summary>
    public int Count => ChunkTensor.Length;

    /// <summary>The first element of chunk <paramref name="chunk"/> within its tensor.</summary>
    public long Start(int chunk) => (chunk - FirstChunk[ChunkTensor[chunk]]) * ChunkSize;
}
