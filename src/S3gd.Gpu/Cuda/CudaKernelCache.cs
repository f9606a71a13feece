using System.Security.Cryptography;

namespace S3gd.Gpu.Cuda;

/// <summary>
/// The on-disk cache of compiled kernels: one file per key holding the SHA-256 of the image, then the
/// image. A missing, short or corrupt file is a miss; files are written to a temporary name and renamed,
/// so a reader never sees half a file. A cache that cannot be read or written is a miss, never an error.
/// </summary>
public sealed class CudaKernelCache(string directory)
{
    /// <summary>Bytes of the checksum that prefixes each entry (SHA-256).</summary>
    private const int ChecksumBytes = 32;

    /// <summary>The folder the entries live in.</summary>
    public string Directory { get; } = directory;

    /// <summary>The default folder: <c>$XDG_CACHE_HOME/s3gd</c>, else <c>~/.cache/s3gd</c>.</summary>
    public static string DefaultDirectory
    {
        get
        {
            var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            var root = string.IsNullOrEmpty(xdg)
                ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache")
                : xdg;
            return Path.Combine(root, "s3gd");
        }
    }

    /// <summary>The key of a compilation: SHA-256 over everything that changes the binary, as hex.</summary>
    public static string Key(params string[] parts) =>
        Convert.ToHexString(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(string.Join("\u0000", parts)))).ToLowerInvariant();

    /// <summary>The image stored under <paramref name="key"/>, or null on a miss (absent, unreadable or corrupt).</summary>
    public byte[]? TryRead(string key)
    {
        try
        {
            var path = PathOf(key);
            if (!File.Exists(path)) return null;
            var bytes = File.ReadAllBytes(path);
            if (bytes.Length < ChecksumBytes) return null;
            var image = bytes[ChecksumBytes..];
            return SHA256.HashData(image).AsSpan().SequenceEqual(bytes.AsSpan(0, ChecksumBytes)) ? image : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Stores <paramref name="image"/> under <paramref name="key"/>; returns whether it was written.</summary>
    public bool Write(string key, byte[] image)
    {
        try
        {
            System.IO.Directory.CreateDirectory(Directory);
            var temporary = Path.Combine(Directory, $"{key}.{Guid.NewGuid():N}.tmp");
            using (var file = File.Create(temporary))
            {
                file.Write(SHA256.HashData(image));
                file.Write(image);
            }
            File.Move(temporary, PathOf(key), overwrite: true);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>The file of an entry.</summary>
    public string PathOf(string key) => Path.Combine(Directory, key + ".cubin");
}
