using S3gd.Spec.Rules;

namespace S3gd.Gpu;

/// <summary>The spec's rules by the names the C# surface takes.</summary>
internal static class SpecRegistry
{
    /// <summary>The spec's rule of a command-line name (sgd, adamw, ...); an unknown name is an error listing the known ones.</summary>
    public static RuleInfo Named(string name, string argument)
    {
        ArgumentNullException.ThrowIfNull(name, argument);
        var found = Registry.find(name);
        return found.IsError ? throw new ArgumentException(found.ErrorValue, argument) : found.ResultValue;
    }
}
