using System.Runtime.InteropServices;

namespace S3gd.Gpu.Optimizers;

/// <summary>A buffer's raw element bytes (little-endian, as stored on every backend), whatever its element type.</summary>
public static class BufferBytes
{
    /// <summary>Copies the buffer's bytes to a new host array (after pending work on it).</summary>
    public static byte[] Read(DeviceBuffer buffer)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        var b = buffer.Owner;
        return buffer.ElementType.SizeOf() switch
        {
            4 => MemoryMarshal.AsBytes(b.Download<uint>(buffer).AsSpan()).ToArray(),
            2 => MemoryMarshal.AsBytes(b.Download<ushort>(buffer).AsSpan()).ToArray(),
            _ => b.Download<byte>(buffer),
        };
    }

    /// <summary>Copies exactly <c>buffer.SizeInBytes</c> bytes into the buffer.</summary>
    public static void Write(DeviceBuffer buffer, ReadOnlySpan<byte> data)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        if (data.Length != buffer.SizeInBytes)
            throw new ArgumentException($"{data.Length} bytes given for a buffer of {buffer.SizeInBytes}", nameof(data));
        var b = buffer.Owner;
        switch (buffer.ElementType.SizeOf())
        {
            case 4: b.Upload(buffer, MemoryMarshal.Cast<byte, uint>(data)); break;
            case 2: b.Upload(buffer, MemoryMarshal.Cast<byte, ushort>(data)); break;
            default: b.Upload(buffer, data); break;
        }
    }
}
