using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using NetVips;

namespace VehicleImages.Core.Embeddings;

/// <summary>
/// ResNet18 image embeddings, run locally with ONNX Runtime from the files of the
/// <c>Microsoft.ML.DnnImageFeaturizer.ResNet18</c> package (copied beside the assemblies under DnnImageModels/).
/// The package ships two models, run here one after the other exactly as ML.NET chains them: ResNetPreprocess.onnx takes
/// 3×224×224 planar R, G, B values 0-255 (what ML.NET's ExtractPixels gives), reorders them to B, G, R and subtracts the
/// network's mean image; ResNet18.onnx (a CNTK export) answers the 512 values of its last pooling layer.
/// One instance per process (a singleton): both sessions are loaded once, on first use, and shared by every worker
/// (<c>InferenceSession.Run</c> is thread-safe). Each run uses one thread, so workers on a 2-core box do not oversubscribe it.
/// </summary>
public sealed class ImageEmbedder : IDisposable
{
    public const string ModelName = "resnet18-dnnimagefeaturizer-0.24.0";
    public const int Side = 224;
    public const int Dimensions = 512;
    private const string PreprocessInput = "OriginalInput";
    private const string PreprocessOutput = "PreprocessedInput";
    private const string NetworkInput = "Input247";
    private const string NetworkOutput = "Pooling395_Output_0";

    private readonly Lazy<(InferenceSession Prep, InferenceSession Net)> _sessions;

    public ImageEmbedder() : this(Path.Combine(AppContext.BaseDirectory, "DnnImageModels"))
    {
    }

    public ImageEmbedder(string modelDirectory) =>
        _sessions = new(() =>
        {
            var options = new SessionOptions
            {
                IntraOpNumThreads = 1,
                InterOpNumThreads = 1,
                ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
                GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            };
            var prep = Path.Combine(modelDirectory, "ResNetPrepOnnx", "ResNetPreprocess.onnx");
            var net = Path.Combine(modelDirectory, "ResNet18Onnx", "ResNet18.onnx");
            if (!File.Exists(prep) || !File.Exists(net))
                throw new FileNotFoundException($"The ResNet18 model files are missing from {modelDirectory} (they come from the Microsoft.ML.DnnImageFeaturizer.ResNet18 package at build time).");
            return (new InferenceSession(prep, options), new InferenceSession(net, options));
        }, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The 224×224 planar RGB input (0-255) of an encoded image, the whole frame scaled to the square.</summary>
    public static float[] Pixels(Image image)
    {
        using var srgb = image.Interpretation == Enums.Interpretation.Srgb ? image.Copy() : image.Colourspace(Enums.Interpretation.Srgb);
        using var rgb = srgb.HasAlpha() ? srgb.Flatten(background: [255, 255, 255]) : srgb.Copy();
        using var three = rgb.Bands >= 3 ? rgb.ExtractBand(0, 3) : rgb.Bandjoin(rgb, rgb);
        using var sized = three.Resize((double)Side / three.Width, kernel: Enums.Kernel.Linear, vscale: (double)Side / three.Height);
        using var bytes = sized.Cast(Enums.BandFormat.Uchar);
        var interleaved = bytes.WriteToMemory<byte>();
        if (bytes.Width != Side || bytes.Height != Side || interleaved.Length != Side * Side * 3)
            throw new InvalidOperationException($"resizing gave {bytes.Width}×{bytes.Height}×{bytes.Bands}, not {Side}×{Side}×3");
        var planar = new float[3 * Side * Side];
        const int plane = Side * Side;
        for (var i = 0; i < plane; i++)
        {
            planar[i] = interleaved[3 * i];
            planar[plane + i] = interleaved[3 * i + 1];
            planar[2 * plane + i] = interleaved[3 * i + 2];
        }
        return planar;
    }

    /// <summary>The L2-normalised embedding of the planar input from <see cref="Pixels"/>.</summary>
    public float[] Embed(float[] planarRgb)
    {
        var (prep, net) = _sessions.Value;
        using var prepared = prep.Run([NamedOnnxValue.CreateFromTensor(PreprocessInput, Shaped(prep, PreprocessInput, planarRgb))], [PreprocessOutput]);
        var preprocessed = prepared.First().AsTensor<float>().ToArray();
        using var outputs = net.Run([NamedOnnxValue.CreateFromTensor(NetworkInput, Shaped(net, NetworkInput, preprocessed))], [NetworkOutput]);
        var features = outputs.First().AsTensor<float>().ToArray();
        return Normalise(features);
    }

    /// <summary>The 3×224×224 values in the rank the model declares (a batch of one where it has a batch axis).</summary>
    private static DenseTensor<float> Shaped(InferenceSession session, string input, float[] values)
    {
        var dims = session.InputMetadata[input].Dimensions.Select(d => d < 0 ? 1 : d).ToArray();
        return new DenseTensor<float>(values, dims);
    }

    public static float[] Normalise(float[] v)
    {
        double sum = 0;
        foreach (var x in v) sum += (double)x * x;
        var norm = Math.Sqrt(sum);
        if (norm == 0) return v;
        var result = new float[v.Length];
        for (var i = 0; i < v.Length; i++) result[i] = (float)(v[i] / norm);
        return result;
    }

    /// <summary>1 − cosine similarity of two L2-normalised vectors: 0 for the same picture, larger as they differ.</summary>
    public static double Distance(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length != b.Length) return 2;
        double dot = 0;
        for (var i = 0; i < a.Length; i++) dot += (double)a[i] * b[i];
        return 1 - dot;
    }

    public void Dispose()
    {
        if (_sessions.IsValueCreated)
        {
            _sessions.Value.Prep.Dispose();
            _sessions.Value.Net.Dispose();
        }
    }
}
