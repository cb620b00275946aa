using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OpenCvSharp;

namespace VehicleImages.Core.Privacy;

/// <summary>A rectangle in fractions of the oriented image (as privacy boxes and components' bbox are).</summary>
public readonly record struct BoxF(string Kind, double X, double Y, double Width, double Height);

/// <summary>
/// How the local detector runs. The defaults are what docs/performance.md measured best on the test photos
/// (LocalDetectorTests reproduces the figures): Debian's Russian-plate cascade on a grey image scaled to 1000 px.
/// </summary>
public sealed record DetectorSettings(
    IReadOnlyList<string> PlateCascades, IReadOnlyList<string> FaceCascades, int LongEdge, double ScaleFactor, int PlateNeighbours, int FaceNeighbours)
{
    public static DetectorSettings Default { get; } = new(
        ["haarcascade_russian_plate_number.xml"],
        ["haarcascade_frontalface_default.xml", "haarcascade_profileface.xml"],
        LongEdge: 1000, ScaleFactor: 1.05, PlateNeighbours: 6, FaceNeighbours: 8);
}

/// <summary>
/// The local plate and face detector: OpenCV Haar cascades (Debian's <c>opencv-data</c>) on a downscaled grey image,
/// boxes mapped back to fractions of the oriented image. It costs no provider call and runs on every photo before tier 1.
/// A cascade is not safe to use from two threads at once, so detections take turns.
/// </summary>
public sealed class PrivacyDetector : IDisposable
{
    public const string DefaultCascadeFolder = "/usr/share/opencv4/haarcascades";

    private readonly List<CascadeClassifier> _plates;
    private readonly List<CascadeClassifier> _faces;
    private readonly DetectorSettings _settings;
    private readonly Lock _turn = new();

    private PrivacyDetector(List<CascadeClassifier> plates, List<CascadeClassifier> faces, DetectorSettings settings) =>
        (_plates, _faces, _settings) = (plates, faces, settings);

    /// <summary>The detector, or null with the reason when a cascade file is missing (opencv-data not installed).</summary>
    public static PrivacyDetector? TryLoad(string folder, DetectorSettings settings, out string? missing)
    {
        var files = settings.PlateCascades.Concat(settings.FaceCascades).Select(n => Path.Combine(folder, n)).ToList();
        missing = files.FirstOrDefault(f => !File.Exists(f));
        if (missing is not null)
            return null;
        var load = (IEnumerable<string> names) => names.Select(n => new CascadeClassifier(Path.Combine(folder, n))).ToList();
        var plates = load(settings.PlateCascades);
        var faces = load(settings.FaceCascades);
        if (plates.Concat(faces).FirstOrDefault(c => c.Empty()) is not null)
        {
            missing = "a cascade in " + folder + " could not be read";
            foreach (var c in plates.Concat(faces))
                c.Dispose();
            return null;
        }
        return new PrivacyDetector(plates, faces, settings);
    }

    /// <summary>Plates and faces found in an encoded image (a stored variant: upright, no orientation tag left).</summary>
    public IReadOnlyList<BoxF> Detect(byte[] encoded)
    {
        using var grey = Cv2.ImDecode(encoded, ImreadModes.Grayscale);
        if (grey.Empty())
            throw new ArgumentException("the image could not be decoded", nameof(encoded));
        return Detect(grey);
    }

    public IReadOnlyList<BoxF> Detect(Mat grey)
    {
        var scale = Math.Min(1.0, (double)_settings.LongEdge / Math.Max(grey.Width, grey.Height));
        using var small = new Mat();
        Cv2.Resize(grey, small, new Size(0, 0), scale, scale, InterpolationFlags.Area);
        var found = new List<BoxF>();
        lock (_turn)
        {
            foreach (var c in _plates)
                found.AddRange(Run(c, small, PrivacyBoxKind.Plate, _settings.PlateNeighbours, new Size(24, 8)));
            foreach (var c in _faces)
                found.AddRange(Run(c, small, PrivacyBoxKind.Face, _settings.FaceNeighbours, new Size(24, 24)));
        }
        return Merge(found);
    }

    private IEnumerable<BoxF> Run(CascadeClassifier cascade, Mat small, string kind, int neighbours, Size min) =>
        cascade.DetectMultiScale(small, _settings.ScaleFactor, neighbours, HaarDetectionTypes.ScaleImage, min)
            .Select(r => new BoxF(kind, (double)r.X / small.Width, (double)r.Y / small.Height, (double)r.Width / small.Width, (double)r.Height / small.Height));

    /// <summary>Two cascades (frontal and profile faces) can find the same thing: a box mostly inside a kept one of its kind is dropped.</summary>
    internal static IReadOnlyList<BoxF> Merge(List<BoxF> boxes)
    {
        var kept = new List<BoxF>();
        foreach (var b in boxes.OrderByDescending(b => b.Width * b.Height))
            if (!kept.Any(k => k.Kind == b.Kind && Overlap(k, b) > 0.5 * b.Width * b.Height))
                kept.Add(b);
        return kept;
    }

    private static double Overlap(BoxF a, BoxF b) =>
        Math.Max(0, Math.Min(a.X + a.Width, b.X + b.Width) - Math.Max(a.X, b.X)) *
        Math.Max(0, Math.Min(a.Y + a.Height, b.Y + b.Height) - Math.Max(a.Y, b.Y));

    public static double IoU(BoxF a, BoxF b)
    {
        var inter = Overlap(a, b);
        return inter <= 0 ? 0 : inter / (a.Width * a.Height + b.Width * b.Height - inter);
    }

    public void Dispose()
    {
        foreach (var c in _plates.Concat(_faces))
            c.Dispose();
    }
}

/// <summary>The detector for the app: loaded once from <c>Privacy:CascadeFolder</c>; null (with one warning) when it is off or cannot load.</summary>
public sealed class LocalDetector(IOptions<PrivacyOptions> options, ILogger<LocalDetector> logger) : IDisposable
{
    private readonly Lazy<PrivacyDetector?> _detector = new(() =>
    {
        var o = options.Value;
        if (!o.LocalDetector)
            return null;
        var detector = PrivacyDetector.TryLoad(o.CascadeFolder, DetectorSettings.Default, out var missing);
        if (detector is null)
            logger.LogWarning("The local plate and face detector is off: {Missing} is missing. Install Debian's opencv-data " +
                "(apt-get install opencv-data) or point Privacy__CascadeFolder at the Haar cascades; set Privacy__LocalDetector=false to silence this", missing);
        return detector;
    });

    /// <summary>Null when Privacy__LocalDetector is false or the cascades are missing.</summary>
    public PrivacyDetector? Detector => _detector.Value;

    public void Dispose()
    {
        if (_detector.IsValueCreated)
            _detector.Value?.Dispose();
    }
}
