namespace S3gd.Gpu.Maths;

/// <summary>
/// The arithmetic a rule's per-element maths is evaluated in, written once for every backend: one float32 lane of an
/// ILGPU kernel (hardware operations on CUDA, managed ones on ILGPU's CPU accelerator), eight Vector256 lanes on the CPU
/// backend, bounded values in the conformance checks. Every operation is one IEEE operation rounded as the maths rounds
/// (float32, or bf16 after each operation), never contracted with another: <see cref="Madd"/> is the only fused one.
/// Implementations are structs called through <c>default(M)</c>, so each instantiation compiles to straight-line code.
/// </summary>
/// <typeparam name="T">The value type: float, Vector256&lt;float&gt;, or a bounded value.</typeparam>
public interface IMaths<T> where T : struct
{
    /// <summary>a*b, rounded.</summary>
    T Mul(T a, T b);

    /// <summary>a+b, rounded.</summary>
    T Add(T a, T b);

    /// <summary>a/b, rounded.</summary>
    T Div(T a, T b);

    /// <summary>sqrt(a), rounded.</summary>
    T Root(T a);

    /// <summary>a*b+c: one fused rounding in float32 maths; the product and the sum each rounded in bf16 maths.</summary>
    T Madd(T a, T b, T c);

    /// <summary>-a (exact).</summary>
    T Neg(T a);

    /// <summary>The larger of a and b, a NaN operand ignored (C's fmaxf, PTX max.f32).</summary>
    T Max(T a, T b);

    /// <summary>torch.sign: -1, 0 or +1; a zero keeps its sign and NaN stays NaN.</summary>
    T Sign(T x);

    /// <summary>A loaded value as the maths sees it (rounded to bf16 in bf16 maths).</summary>
    T Load(T x);

    /// <summary>0 where <paramref name="m"/> is zero, else <paramref name="x"/> (MAdam's step).</summary>
    T ZeroWhereZero(T m, T x);

    /// <summary>x where a &lt; b, else y (exact): torch.where(a &lt; b, x, y), a comparison with NaN false (Rprop's masks).</summary>
    T WhereLess(T a, T b, T x, T y);

    /// <summary>A float32 scalar as a value of T (in every lane).</summary>
    T Broadcast(float x);
}
