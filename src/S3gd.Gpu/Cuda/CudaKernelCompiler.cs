using System.Reflection;
using System.Text.RegularExpressions;
using ILGPU;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace S3gd.Gpu.Cuda;

/// <summary>A kernel method compiled to PTX: the module text and its entry's name and parameter sizes.</summary>
/// <param name="Ptx">The PTX module.</param>
/// <param name="Entry">The entry function's name.</param>
/// <param name="ParameterBytes">Each parameter's size in bytes, in order.</param>
public sealed record CudaPtx(string Ptx, string Entry, IReadOnlyList<int> ParameterBytes);

/// <summary>
/// ILGPU's PTX backend for one architecture: compiles S3gd's C# kernel methods (explicitly grouped) to PTX, which
/// <see cref="CudaBackend"/> loads through the driver. Needs no GPU: CI compiles every kernel this way too.
/// </summary>
public sealed partial class CudaKernelCompiler : IDisposable
{
    /// <summary>
    /// ILGPU 1.5.3 writes the lowest architecture its capability table needs (sm_80) as the module's <c>.target</c>, and
    /// the driver then rejects the fp8 conversions (sm_89+); the capability context's target, settable only inside ILGPU,
    /// is set to the device's own architecture here, the one place that depends on ILGPU's internals (a test compiles a
    /// kernel and checks the <c>.target</c> line).
    /// </summary>
    private static readonly PropertyInfo TargetArchitecture =
        typeof(CudaCapabilityContext).GetProperty(nameof(CudaCapabilityContext.TargetArchitecture))
        ?? throw new MissingMemberException(nameof(CudaCapabilityContext), nameof(CudaCapabilityContext.TargetArchitecture));

    private readonly Context context;
    private readonly PTXBackend backend;
    private readonly Lock gate = new();

    /// <summary>A compiler for compute capability <paramref name="major"/>.<paramref name="minor"/> and the instruction set the driver of <paramref name="driverVersion"/> (e.g. 13000) takes.</summary>
    public CudaKernelCompiler(int major, int minor, int driverVersion)
    {
        Architecture = new CudaArchitecture(major, minor);
        InstructionSet = CudaAccelerator.GetInstructionSet(Architecture, CudaDriverVersion.FromValue(driverVersion));
        context = Context.Create(builder => builder.Optimize(OptimizationLevel.O2));
        var capabilities = new CudaCapabilityContext(Architecture);
        TargetArchitecture.SetValue(capabilities, Architecture);
        backend = new PTXBackend(context, capabilities, Architecture, InstructionSet, null);
    }

    /// <summary>The architecture compiled for.</summary>
    public CudaArchitecture Architecture { get; }

    /// <summary>The PTX instruction set written.</summary>
    public CudaInstructionSet InstructionSet { get; }

    /// <summary>How many kernels this compiler has compiled.</summary>
    public int Compilations { get; private set; }

    /// <summary>Compiles a closed static kernel method to PTX.</summary>
    public CudaPtx Compile(MethodInfo kernel)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        lock (gate)
        {
            var compiled = (PTXCompiledKernel)backend.Compile(EntryPointDescription.FromExplicitlyGroupedKernel(kernel), default(KernelSpecialization));
            Compilations++;
            var ptx = compiled.PTXAssembly;
            var entry = EntryPattern().Match(ptx);
            if (!entry.Success) throw new InvalidOperationException($"ILGPU's PTX for {kernel} has no .entry");
            var parameters = ParameterPattern().Matches(entry.Groups["params"].Value)
                .Select(m => m.Groups["bytes"].Success ? int.Parse(m.Groups["bytes"].Value) : ScalarBytes(m.Groups["type"].Value)).ToArray();
            return new CudaPtx(ptx, entry.Groups["name"].Value, parameters);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        backend.Dispose();
        context.Dispose();
    }

    /// <summary>Bytes of a scalar PTX parameter of <paramref name="bits"/> bits (.f32, .u64, ...).</summary>
    private static int ScalarBytes(string bits) => int.Parse(bits) / 8;

    [GeneratedRegex(@"\.entry\s+(?<name>\w+)\s*\((?<params>[^)]*)\)")]
    private static partial Regex EntryPattern();

    [GeneratedRegex(@"\.param\s+(?:\.align\s+\d+\s+\.b8\s+\w+\[(?<bytes>\d+)\]|\.[a-z](?<type>\d+)\s+\w+)")]
    private static partial Regex ParameterPattern();
}
