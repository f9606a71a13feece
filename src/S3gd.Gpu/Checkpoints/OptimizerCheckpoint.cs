using System.Globalization;
using System.Text.Json;
using S3gd.Gpu.Optimizers;
using S3gd.Spec.Rules;
using Optimizer = S3gd.Gpu.Optimizers.Optimizer;

namespace S3gd.Gpu.Checkpoints;

/// <summary>
/// An optimizer's whole state as a safetensors file. Metadata: <c>format</c> (s3gd.optimizer), <c>format_version</c>,
/// <c>optimizer</c> (the type), <c>rule</c>, <c>groups</c>, per group <c>group.I.params</c> (JSON list of names),
/// <c>group.I.hypers</c> (JSON object of every hyperparameter as text), <c>group.I.precision</c>, <c>steps</c> (JSON
/// object of each parameter's step count), <c>params_included</c> and the SHA-256 <c>checksum</c> of metadata and data. Tensors:
/// <c>state.NAME.BUFFER</c> in the buffer's own format (exp_avg, exp_avg.scales, compensation, ...) and, when
/// included, <c>param.NAME</c>. Bytes are copied as stored, so a file saved on one backend loads bit for bit on another.
/// Version 2 stores the block scales of block-scaled fp8 state as E8M0 bytes (F8_E8M0); version 1 stored them as float32
/// scales, which do not convert exactly: a version 1 file loads unless it holds such scales, then it is refused by name.
/// </summary>
public static class OptimizerCheckpoint
{
    /// <summary>The <c>format</c> metadata value of an optimizer checkpoint.</summary>
    public const string Format = "s3gd.optimizer";

    /// <summary>The version this build writes (and reads).</summary>
    public const int Version = 2;

    /// <summary>The version before power-of-two block scales, whose float32 block scales of elementwise fp8 state this build refuses; otherwise read as version 2.</summary>
    public const int FloatScalesVersion = 1;

    /// <summary>Hyperparameters added after version 1 (OAdamW's Newton–Schulz precision): a version 1 file without them takes their defaults, as torch's <c>__setstate__</c> fills a new option.</summary>
    private static readonly HashSet<string> AddedSinceVersion1 = new(StringComparer.Ordinal) { "ns_precision" };

    /// <summary>Saves every state buffer, step count and group's hyperparameters (and the parameters, when <paramref name="includeParams"/>), atomically.</summary>
    public static void Save(Optimizer optimizer, string path, bool includeParams = true)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["format"] = Format,
            ["format_version"] = Version.ToString(CultureInfo.InvariantCulture),
            ["optimizer"] = optimizer.TypeName,
            ["rule"] = optimizer.Rule.Name,
            ["groups"] = optimizer.Groups.Count.ToString(CultureInfo.InvariantCulture),
            ["params_included"] = includeParams ? "true" : "false",
            ["steps"] = JsonSerializer.Serialize(optimizer.Parameters.ToDictionary(p => p.Name, optimizer.StepCount), CheckpointJson.Default.DictionaryStringInt32),
        };
        foreach (var g in optimizer.Groups)
        {
            metadata[$"group.{g.Index}.params"] = JsonSerializer.Serialize(g.Parameters.Select(p => p.Name).ToArray(), CheckpointJson.Default.StringArray);
            metadata[$"group.{g.Index}.hypers"] = JsonSerializer.Serialize(
                g.Hypers.Spec.ToDictionary(kv => kv.Key, kv => Hyper.show(kv.Value)), CheckpointJson.Default.DictionaryStringString);
            metadata[$"group.{g.Index}.precision"] = optimizer.Precision(g.Index);
        }
        var tensors = Expected(optimizer, includeParams)
            .Select(e => new SafeTensor(e.Name, SafeTensorsDtype.Of(e.Buffer.ElementType), e.Shape, BufferBytes.Read(e.Buffer)))
            .ToArray();
        SafeTensorsWriter.Write(path, metadata, tensors);
    }

    /// <summary>
    /// Loads a checkpoint: the file is read and checked whole (<see cref="SafeTensorsReader"/>), then checked against the
    /// optimizer (type, rule, group count, each group's parameter names, hyperparameters and precision, every tensor's
    /// presence, dtype and shape) before anything is changed. A bad file is a <see cref="CheckpointFormatException"/>, a
    /// file that does not fit a <see cref="CheckpointMismatchException"/>; either way the optimizer is untouched.
    /// </summary>
    public static void Load(Optimizer optimizer, string path)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        var content = SafeTensorsReader.Read(path);
        var meta = content.Metadata;
        CheckpointFormatException Bad(string message) => new(path, message);
        CheckpointMismatchException Mismatch(string message) => new(path, message);
        string Get(string key) => meta.TryGetValue(key, out var v) ? v : throw Bad($"the metadata lacks '{key}' (not an S3gd optimizer checkpoint?)");
        T Json<T>(string key, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> info)
        {
            var text = Get(key);
            try
            {
                return JsonSerializer.Deserialize(text, info) ?? throw Bad($"metadata '{key}' is null");
            }
            catch (JsonException e)
            {
                throw Bad($"metadata '{key}' is not the expected JSON: {e.Message}");
            }
        }

        if (Get("format") != Format) throw Bad($"format is '{Get("format")}', not '{Format}'");
        // The reader verified the checksum where there is one; an optimizer checkpoint must have one.
        Get(SafeTensorsWriter.ChecksumKey);
        var version = Get("format_version");
        var floatScales = version == FloatScalesVersion.ToString(CultureInfo.InvariantCulture);
        if (version != Version.ToString(CultureInfo.InvariantCulture) && !floatScales)
            throw Bad($"format_version is '{version}'; this build reads versions {FloatScalesVersion} and {Version}");
        if (Get("optimizer") != optimizer.TypeName)
            throw Mismatch($"the checkpoint is of a {Get("optimizer")} optimizer, this is a {optimizer.TypeName}");
        if (Get("rule") != optimizer.Rule.Name) throw Mismatch($"the checkpoint's rule is '{Get("rule")}', this optimizer's '{optimizer.Rule.Name}'");
        if (!int.TryParse(Get("groups"), NumberStyles.None, CultureInfo.InvariantCulture, out var groups))
            throw Bad($"metadata 'groups' is '{Get("groups")}', not a count");
        if (groups != optimizer.Groups.Count) throw Mismatch($"the checkpoint has {groups} param group(s), this optimizer {optimizer.Groups.Count}");
        var includesParams = Get("params_included") switch
        {
            "true" => true,
            "false" => false,
            var other => throw Bad($"metadata 'params_included' is '{other}', not true or false"),
        };
        foreach (var g in optimizer.Groups)
        {
            var names = Json($"group.{g.Index}.params", CheckpointJson.Default.StringArray);
            if (names.Length != g.Parameters.Count)
                throw Mismatch($"param group {g.Index} has {names.Length} parameter(s) in the checkpoint, {g.Parameters.Count} here");
            for (var i = 0; i < names.Length; i++)
                if (names[i] != g.Parameters[i].Name)
                    throw Mismatch($"param group {g.Index}, parameter {i} is '{names[i]}' in the checkpoint, '{g.Parameters[i].Name}' here");
            var hypers = Json($"group.{g.Index}.hypers", CheckpointJson.Default.DictionaryStringString);
            foreach (var def in optimizer.Rule.Hypers)
            {
                if (!hypers.TryGetValue(def.Name, out var text))
                    text = floatScales && AddedSinceVersion1.Contains(def.Name)
                        ? Hyper.show(def.Default)
                        : throw Bad($"param group {g.Index}: hyperparameter '{def.Name}' is missing");
                var value = Parse(def, text) ?? throw Bad($"param group {g.Index}: {def.Name}='{text}' is not a value of its kind");
                if (!def.Valid.Invoke(value)) throw Bad($"param group {g.Index}: {def.Name}={text} is out of range (valid: {def.Range})");
                var here = g.Hypers.Spec[def.Name];
                if (!value.Equals(here))
                    throw Mismatch($"param group {g.Index}: {def.Name} is {text} in the checkpoint, {Hyper.show(here)} here");
            }
            foreach (var name in hypers.Keys.Where(k => optimizer.Rule.Hypers.All(d => d.Name != k)))
                throw Bad($"param group {g.Index}: unknown hyperparameter '{name}' for rule {optimizer.Rule.Name}");
            var precision = Get($"group.{g.Index}.precision");
            if (precision != optimizer.Precision(g.Index))
                throw Mismatch($"param group {g.Index} was saved with {precision}, this optimizer has {optimizer.Precision(g.Index)}");
        }
        var steps = Json("steps", CheckpointJson.Default.DictionaryStringInt32);
        foreach (var p in optimizer.Parameters)
        {
            if (!steps.TryGetValue(p.Name, out var s)) throw Bad($"metadata 'steps' lacks parameter '{p.Name}'");
            if (s < 0) throw Bad($"metadata 'steps' gives parameter '{p.Name}' the negative step count {s}");
        }
        if (steps.Count != optimizer.Parameters.Count()) throw Bad($"metadata 'steps' has {steps.Count} entries for {optimizer.Parameters.Count()} parameters");

        var byName = content.Tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var expected = Expected(optimizer, includesParams);
        foreach (var e in expected)
        {
            if (!byName.TryGetValue(e.Name, out var t)) throw Mismatch($"the checkpoint lacks tensor '{e.Name}'");
            var dtype = SafeTensorsDtype.Of(e.Buffer.ElementType);
            if (floatScales && e.Buffer.ElementType == ElementType.E8M0 && t.Dtype == SafeTensorsDtype.Of(ElementType.Float32))
                throw Bad($"tensor '{e.Name}' holds the float32 block scales of format_version {FloatScalesVersion}; this build's block-scaled fp8 " +
                          "keeps power-of-two (E8M0) scales, which those do not convert to exactly: load it with a build that reads version 1, or start the state afresh");
            if (t.Dtype != dtype) throw Mismatch($"tensor '{e.Name}' is {t.Dtype} in the checkpoint, {dtype} here");
            if (!t.Shape.SequenceEqual(e.Shape))
                throw Mismatch($"tensor '{e.Name}' has shape [{string.Join(", ", t.Shape)}] in the checkpoint, [{string.Join(", ", e.Shape)}] here");
        }
        var extra = content.Tensors.Select(t => t.Name).Except(expected.Select(e => e.Name)).FirstOrDefault();
        if (extra is not null) throw Mismatch($"the checkpoint has tensor '{extra}', which this optimizer does not keep");

        foreach (var e in expected) BufferBytes.Write(e.Buffer, byName[e.Name].Data);
        foreach (var p in optimizer.Parameters) optimizer.SetStepCount(p, steps[p.Name]);
    }

    private sealed record Entry(string Name, DeviceBuffer Buffer, long[] Shape);

    /// <summary>Every tensor the optimizer's checkpoint holds, in order: per parameter its values (when included), then its state.</summary>
    private static List<Entry> Expected(Optimizer optimizer, bool includeParams)
    {
        var entries = new List<Entry>();
        foreach (var p in optimizer.Parameters)
        {
            var shape = p.Shape.Select(d => (long)d).ToArray();
            if (includeParams) entries.Add(new Entry($"param.{p.Name}", p.Param, shape));
            foreach (var s in optimizer.State(p))
                entries.Add(new Entry($"state.{p.Name}.{s.Name}", s.Buffer, s.Buffer.Length == p.Length ? shape : [s.Buffer.Length]));
        }
        return entries;
    }

    private static HyperValue? Parse(HyperDef def, string text)
    {
        var c = CultureInfo.InvariantCulture;
        return def.Default switch
        {
            HyperValue.Real => double.TryParse(text, NumberStyles.Float, c, out var v) ? HyperValue.NewReal(v) : null,
            HyperValue.Flag => text switch { "true" => HyperValue.NewFlag(true), "false" => HyperValue.NewFlag(false), _ => null },
            HyperValue.Whole => int.TryParse(text, NumberStyles.AllowLeadingSign, c, out var n) ? HyperValue.NewWhole(n) : null,
            _ => HyperValue.NewWord(text),
        };
    }
}
