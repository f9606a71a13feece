using System.Text.Json.Serialization;

namespace S3gd.Gpu.Checkpoints;

/// <summary>The JSON shapes checkpoint metadata holds, source-generated (the library is trimmable and AOT-compatible).</summary>
[JsonSerializable(typeof(Dictionary<string, int>))]
[JsonSerializable(typeof(Dictionary<string, string>))]
[JsonSerializable(typeof(string[]))]
internal sealed partial class CheckpointJson : JsonSerializerContext;
