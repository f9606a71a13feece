namespace S3gd.Gpu.Kernels;

/// <summary>
/// The eight consecutive elements a thread moves as one group (16 bytes of bf16, two 16-byte vectors of float32, 8
/// bytes of fp8), as float32 registers: named fields, never indexed, so no kernel puts them in local memory.
/// </summary>
public struct Lanes
{
    /// <summary>The number of elements of a group.</summary>
    public const int Count = 8;

    /// <summary>Element 0.</summary>
    public float E0;
    /// <summary>Element 1.</summary>
    public float E1;
    /// <summary>Element 2.</summary>
    public float E2;
    /// <summary>Element 3.</summary>
    public float E3;
    /// <summary>Element 4.</summary>
    public float E4;
    /// <summary>Element 5.</summary>
    public float E5;
    /// <summary>Element 6.</summary>
    public float E6;
    /// <summary>Element 7.</summary>
    public float E7;
}
