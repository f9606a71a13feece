using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace S3gd.Gpu.Checkpoints;

/// <summary>
/// Writes safetensors files (huggingface/safetensors' format): an 8-byte little-endian header length, a JSON header
/// (<c>__metadata__</c> and, per tensor, <c>dtype</c>, <c>shape</c>, <c>data_offsets</c>), padded with spaces to a
/// multiple of 8 bytes, then the tensors' bytes back to back. Atomic: the file is written to <c>PATH.tmp-RANDOM</c>
/// beside it, flushed to disk, then renamed over <c>PATH</c>; a failed write deletes the temporary file and leaves
/// any previous <c>PATH</c> as it was.
/// </summary>
public static class SafeTensorsWriter
{
    /// <summary>
    /// The metadata key of the file's checksum: "sha256:" and 64 lower-case hex digits of SHA-256 over every other
    /// metadata entry (by ordinal key order, each as UTF-8 key, a zero byte, UTF-8 value, a zero byte), then the data section.
    /// </summary>
    public const string ChecksumKey = "checksum";

    /// <summary>Header bytes are padded to a multiple of this (the reference writer's alignment).</summary>
    private const int HeaderAlignment = 8;

    /// <summary>Writes <paramref name="tensors"/> with <paramref name="metadata"/> and, when <paramref name="checksum"/>, the checksum of both under <see cref="ChecksumKey"/>.</summary>
    public static void Write(string path, IReadOnlyDictionary<string, string> metadata, IReadOnlyList<SafeTensor> tensors, bool checksum = true) =>
        Write(path, metadata, tensors, checksum, null);

    /// <summary>The <see cref="ChecksumKey"/> text of metadata (its own checksum entry left out) and the tensors' bytes in data order.</summary>
    public static string Checksum(IReadOnlyDictionary<string, string> metadata, IEnumerable<byte[]> data)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        ArgumentNullException.ThrowIfNull(data);
        using var hash = StartChecksum(metadata);
        foreach (var d in data) hash.AppendData(d);
        return FinishChecksum(hash);
    }

    /// <summary>A SHA-256 over the metadata entries (the checksum's own left out), ready for the data.</summary>
    internal static IncrementalHash StartChecksum(IReadOnlyDictionary<string, string> metadata)
    {
        var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] zero = [0];
        foreach (var (k, v) in metadata.Where(kv => kv.Key != ChecksumKey).OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            hash.AppendData(Encoding.UTF8.GetBytes(k));
            hash.AppendData(zero);
            hash.AppendData(Encoding.UTF8.GetBytes(v));
            hash.AppendData(zero);
        }
        return hash;
    }

    /// <summary>The checksum text of a finished hash.</summary>
    internal static string FinishChecksum(IncrementalHash hash) => "sha256:" + Convert.ToHexStringLower(hash.GetHashAndReset());

    /// <summary>As <see cref="Write(string, IReadOnlyDictionary{string, string}, IReadOnlyList{SafeTensor}, bool)"/>, writing through <paramref name="wrap"/> (tests make it fail midway).</summary>
    internal static void Write(
        string path, IReadOnlyDictionary<string, string> metadata, IReadOnlyList<SafeTensor> tensors, bool checksum, Func<Stream, Stream>? wrap)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(metadata);
        ArgumentNullException.ThrowIfNull(tensors);
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("safetensors data is little-endian; this machine is not");
        Check(tensors);
        var meta = new Dictionary<string, string>(metadata, StringComparer.Ordinal);
        if (checksum) meta[ChecksumKey] = Checksum(meta, tensors.Select(t => t.Data));
        var header = Header(meta, tensors);

        var full = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(full) ?? throw new ArgumentException($"'{path}' has no folder", nameof(path));
        var temp = Path.Combine(folder, $"{Path.GetFileName(full)}.tmp-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))}");
        try
        {
            using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                var stream = wrap is null ? file : wrap(file);
                Span<byte> length = stackalloc byte[8];
                BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
                stream.Write(length);
                stream.Write(header);
                foreach (var t in tensors) stream.Write(t.Data);
                stream.Flush();
                file.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            try { File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }

    private static void Check(IReadOnlyList<SafeTensor> tensors)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < tensors.Count; i++)
        {
            var t = tensors[i] ?? throw new ArgumentNullException(nameof(tensors), $"tensors[{i}] is null");
            if (string.IsNullOrEmpty(t.Name) || t.Name == SafeTensorsReader.MetadataKey)
                throw new ArgumentException($"tensors[{i}] has the name '{t.Name}', which a tensor cannot have", nameof(tensors));
            if (!names.Add(t.Name)) throw new ArgumentException($"two tensors are named '{t.Name}'", nameof(tensors));
            if (!SafeTensorsDtype.Sizes.TryGetValue(t.Dtype, out var size))
                throw new ArgumentException($"tensor '{t.Name}' has the unknown dtype '{t.Dtype}'", nameof(tensors));
            long count = 1;
            foreach (var d in t.Shape)
            {
                if (d < 0) throw new ArgumentException($"tensor '{t.Name}' has a negative dimension {d}", nameof(tensors));
                count = checked(count * d);
            }
            if (checked(count * size) != t.Data.LongLength)
                throw new ArgumentException($"tensor '{t.Name}': shape [{string.Join(", ", t.Shape)}] of {t.Dtype} needs {count * size} bytes, {t.Data.Length} given", nameof(tensors));
        }
    }

    private static byte[] Header(IReadOnlyDictionary<string, string> metadata, IReadOnlyList<SafeTensor> tensors)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartObject(SafeTensorsReader.MetadataKey);
            foreach (var (k, v) in metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal)) json.WriteString(k, v);
            json.WriteEndObject();
            long offset = 0;
            foreach (var t in tensors)
            {
                json.WriteStartObject(t.Name);
                json.WriteString("dtype", t.Dtype);
                json.WriteStartArray("shape");
                foreach (var d in t.Shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + t.Data.LongLength);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += t.Data.LongLength;
            }
            json.WriteEndObject();
        }
        var length = (int)buffer.Length;
        var padded = (length + HeaderAlignment - 1) / HeaderAlignment * HeaderAlignment;
        var header = new byte[padded];
        buffer.GetBuffer().AsSpan(0, length).CopyTo(header);
        header.AsSpan(length).Fill((byte)' ');
        return header;
    }
}
