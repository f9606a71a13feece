namespace S3gd.Gpu.Training;

/// <summary>A labelled data set in host memory: <see cref="Count"/> rows of <see cref="Features"/> float32 features and a class each.</summary>
public sealed record Dataset
{
    /// <summary>Checks that there are <paramref name="features"/> inputs for every label.</summary>
    public Dataset(float[] inputs, float[] labels, int features)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentOutOfRangeException.ThrowIfLessThan(features, 1);
        if (inputs.LongLength != (long)labels.Length * features)
            throw new ArgumentException($"{nameof(inputs)} has {inputs.Length} values; {labels.Length} rows of {features} features need {(long)labels.Length * features}", nameof(inputs));
        Inputs = inputs;
        Labels = labels;
        Features = features;
    }

    /// <summary>The features, row-major: row i is Inputs[i*Features .. (i+1)*Features).</summary>
    public float[] Inputs { get; }

    /// <summary>Each row's class, a whole number in [0, classes) stored as float32 (exact below 2^24).</summary>
    public float[] Labels { get; }

    /// <summary>Features per row.</summary>
    public int Features { get; }

    /// <summary>The number of rows.</summary>
    public int Count => Labels.Length;
}

/// <summary>
/// The spiral classification data set (CS231n's): <c>classes</c> interleaved arms of <c>pointsPerClass</c> 2-D points,
/// point i of arm k at radius r = i/(n-1) and angle 4k + 4r + noise*N(0,1), at (r sin t, r cos t); from a seed.
/// </summary>
public static class Spirals
{
    /// <summary>Features per point: its two coordinates.</summary>
    public const int Features = 2;

    /// <summary>Radians each arm turns through, and the angle between the starts of consecutive arms.</summary>
    private const double Turn = 4.0;

    /// <summary>Generates the data set; the same seed gives the same points on every machine (System.Random's seeded generator).</summary>
    public static Dataset Generate(int classes, int pointsPerClass, int seed, double noise = 0.2)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(classes, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(pointsPerClass, 2);
        if (!double.IsFinite(noise) || noise < 0) throw new ArgumentOutOfRangeException(nameof(noise), noise, "noise must be finite and non-negative");
        var random = new Random(seed);
        var n = classes * pointsPerClass;
        var inputs = new float[Features * n];
        var labels = new float[n];
        for (var k = 0; k < classes; k++)
            for (var i = 0; i < pointsPerClass; i++)
            {
                var row = k * pointsPerClass + i;
                var r = (double)i / (pointsPerClass - 1);
                var t = Turn * k + Turn * r + noise * Gaussian(random);
                inputs[Features * row] = (float)(r * Math.Sin(t));
                inputs[Features * row + 1] = (float)(r * Math.Cos(t));
                labels[row] = k;
            }
        return new Dataset(inputs, labels, Features);
    }

    /// <summary>A standard normal draw (Box-Muller; 1 - U keeps the logarithm's argument in (0, 1]).</summary>
    private static double Gaussian(Random random) =>
        Math.Sqrt(-2.0 * Math.Log(1.0 - random.NextDouble())) * Math.Cos(2.0 * Math.PI * random.NextDouble());
}
