using System.Buffers.Binary;
using System.Text.Json;

namespace S3gd.Gpu.Checkpoints;

/// <summary>
/// Reads safetensors files and checks everything before returning: the header length against the file and a cap, the
/// JSON's shape (an object; <c>__metadata__</c> strings only; per tensor exactly dtype, shape and data_offsets; no
/// duplicate keys), known dtypes, byte counts that match the shapes, offsets that tile the data section exactly
/// (contiguous, non-overlapping, nothing left over), and the SHA-256 checksum of metadata and data where the metadata has one. Any fault
/// is a <see cref="CheckpointFormatException"/> saying what and where.
/// </summary>
public static class SafeTensorsReader
{
    /// <summary>The header key of the metadata object.</summary>
    public const string MetadataKey = "__metadata__";

    /// <summary>The largest header accepted: 100 MB, the reference implementation's MAX_HEADER_SIZE.</summary>
    public const long MaxHeaderBytes = 100_000_000;

    /// <summary>JSON nesting deeper than this is not a safetensors header (which nests three levels).</summary>
    private const int MaxJsonDepth = 8;

    /// <summary>Reads and checks a whole file.</summary>
    public static SafeTensorsContent Read(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("safetensors data is little-endian; this machine is not");
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        CheckpointFormatException Bad(string message, Exception? inner = null) => new(path, message, inner);
        var fileLength = file.Length;
        if (fileLength < 8) throw Bad($"the file has {fileLength} bytes; a safetensors file starts with an 8-byte header length");
        Span<byte> prefix = stackalloc byte[8];
        file.ReadExactly(prefix);
        var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (headerLength > (ulong)MaxHeaderBytes)
            throw Bad($"the header length {headerLength} (as signed {(long)headerLength}) exceeds the {MaxHeaderBytes}-byte limit");
        if ((long)headerLength > fileLength - 8)
            throw Bad($"the header length {headerLength} exceeds the {fileLength - 8} bytes after the length prefix (truncated file?)");
        if (headerLength < 2) throw Bad($"the header length {headerLength} is too short for a JSON object");
        var header = new byte[headerLength];
        file.ReadExactly(header);
        var dataLength = fileLength - 8 - (long)headerLength;

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(header, new JsonDocumentOptions { MaxDepth = MaxJsonDepth });
        }
        catch (JsonException e)
        {
            throw Bad($"the header is not valid JSON: {e.Message}", e);
        }
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var entries = new List<(string Name, string Dtype, long[] Shape, long Begin, long End)>();
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw Bad($"the header is a JSON {root.ValueKind}, not an object");
            var keys = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in root.EnumerateObject())
            {
                if (!keys.Add(property.Name)) throw Bad($"the header has the key '{property.Name}' twice");
                if (property.Name == MetadataKey) ReadMetadata(property.Value, metadata, Bad);
                else entries.Add(ReadEntry(property.Name, property.Value, Bad));
            }
        }

        entries.Sort((a, b) => a.Begin.CompareTo(b.Begin));
        long expected = 0;
        foreach (var e in entries)
        {
            if (e.Begin != expected)
                throw Bad(e.Begin < expected
                    ? $"tensor '{e.Name}' starts at byte {e.Begin}, inside the previous tensor (which ends at {expected})"
                    : $"tensor '{e.Name}' starts at byte {e.Begin}, leaving a gap after byte {expected}");
            expected = e.End;
        }
        if (expected != dataLength)
            throw Bad(expected > dataLength
                ? $"the tensors need {expected} data bytes but the file has {dataLength} after the header (truncated file?)"
                : $"the file has {dataLength} data bytes but the tensors cover only {expected}");

        using var hash = SafeTensorsWriter.StartChecksum(metadata);
        var tensors = new List<SafeTensor>(entries.Count);
        foreach (var e in entries)
        {
            var size = e.End - e.Begin;
            if (size > Array.MaxLength) throw Bad($"tensor '{e.Name}' has {size} bytes, more than one array holds");
            var data = new byte[size];
            file.ReadExactly(data);
            hash.AppendData(data);
            tensors.Add(new SafeTensor(e.Name, e.Dtype, e.Shape, data));
        }
        if (metadata.TryGetValue(SafeTensorsWriter.ChecksumKey, out var recorded))
        {
            var actual = SafeTensorsWriter.FinishChecksum(hash);
            if (!string.Equals(recorded, actual, StringComparison.Ordinal))
                throw Bad($"the checksum of the metadata and data is {actual}, the file records {recorded} (altered or damaged)");
        }
        return new SafeTensorsContent(metadata, tensors);
    }

    private static void ReadMetadata(JsonElement value, Dictionary<string, string> metadata, Func<string, Exception?, CheckpointFormatException> bad)
    {
        if (value.ValueKind != JsonValueKind.Object) throw bad($"'{MetadataKey}' is a JSON {value.ValueKind}, not an object of strings", null);
        foreach (var p in value.EnumerateObject())
        {
            if (p.Value.ValueKind != JsonValueKind.String)
                throw bad($"metadata '{p.Name}' is a JSON {p.Value.ValueKind}; metadata values are strings", null);
            if (!metadata.TryAdd(p.Name, p.Value.GetString()!)) throw bad($"the metadata has the key '{p.Name}' twice", null);
        }
    }

    private static (string, string, long[], long, long) ReadEntry(string name, JsonElement value, Func<string, Exception?, CheckpointFormatException> bad)
    {
        if (value.ValueKind != JsonValueKind.Object) throw bad($"tensor '{name}' is a JSON {value.ValueKind}, not an object", null);
        string? dtype = null;
        long[]? shape = null, offsets = null;
        foreach (var p in value.EnumerateObject())
        {
            switch (p.Name)
            {
                case "dtype" when dtype is null:
                    dtype = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : throw bad($"tensor '{name}': dtype is not a string", null);
                    break;
                case "shape" when shape is null:
                    shape = Whole(p.Value, $"tensor '{name}': shape", bad);
                    break;
                case "data_offsets" when offsets is null:
                    offsets = Whole(p.Value, $"tensor '{name}': data_offsets", bad);
                    break;
                default:
                    throw bad($"tensor '{name}' has the key '{p.Name}' (twice, or not one of dtype, shape, data_offsets)", null);
            }
        }
        if (dtype is null || shape is null || offsets is null) throw bad($"tensor '{name}' lacks {(dtype is null ? "dtype" : shape is null ? "shape" : "data_offsets")}", null);
        if (!SafeTensorsDtype.Sizes.TryGetValue(dtype, out var size))
            throw bad($"tensor '{name}' has the unknown dtype '{dtype}' (known: {string.Join(", ", SafeTensorsDtype.Sizes.Keys)})", null);
        if (offsets.Length != 2) throw bad($"tensor '{name}': data_offsets has {offsets.Length} numbers, not 2", null);
        var (begin, end) = (offsets[0], offsets[1]);
        if (end < begin) throw bad($"tensor '{name}': data_offsets [{begin}, {end}] end before they begin", null);
        long bytes = size;
        foreach (var d in shape)
        {
            if (bytes != 0 && d > long.MaxValue / bytes) throw bad($"tensor '{name}': shape [{string.Join(", ", shape)}] overflows a 64-bit byte count", null);
            bytes *= d;
        }
        if (bytes != end - begin)
            throw bad($"tensor '{name}': shape [{string.Join(", ", shape)}] of {dtype} needs {bytes} bytes, data_offsets [{begin}, {end}] hold {end - begin}", null);
        return (name, dtype, shape, begin, end);
    }

    private static long[] Whole(JsonElement value, string what, Func<string, Exception?, CheckpointFormatException> bad)
    {
        if (value.ValueKind != JsonValueKind.Array) throw bad($"{what} is a JSON {value.ValueKind}, not an array", null);
        var result = new long[value.GetArrayLength()];
        var i = 0;
        foreach (var item in value.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out var n) || n < 0)
                throw bad($"{what}[{i}] is {item.GetRawText()}, not a non-negative whole number", null);
            result[i++] = n;
        }
        return result;
    }
}
