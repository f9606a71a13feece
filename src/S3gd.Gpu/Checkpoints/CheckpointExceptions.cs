namespace S3gd.Gpu.Checkpoints;

/// <summary>A checkpoint file that is not a valid safetensors file or not a valid S3gd optimizer checkpoint; the message says what and where.</summary>
public sealed class CheckpointFormatException : IOException
{
    /// <summary>An error about the file at <paramref name="path"/>.</summary>
    public CheckpointFormatException(string path, string message, Exception? inner = null) : base($"{path}: {message}", inner) => Path = path;

    /// <summary>The file read.</summary>
    public string Path { get; }
}

/// <summary>A valid checkpoint that does not fit the optimizer it is loaded into (type, groups, names, shapes, dtypes, hyperparameters); the message names the mismatch.</summary>
public sealed class CheckpointMismatchException : InvalidOperationException
{
    /// <summary>A mismatch between the file at <paramref name="path"/> and the optimizer.</summary>
    public CheckpointMismatchException(string path, string message) : base($"{path}: {message}") => Path = path;

    /// <summary>The file read.</summary>
    public string Path { get; }
}
