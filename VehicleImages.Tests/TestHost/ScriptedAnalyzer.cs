using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using VehicleImages.Core.Analysis;

namespace VehicleImages.Tests.TestHost;

/// <summary>
/// An analyzer whose behaviour each test chooses: it counts calls per image and, unless told
/// otherwise, saves a tier-1 result and succeeds. Registered in place of the real one at the
/// IImageAnalyzer seam; the queue, database and workers around it are the real ones.
/// </summary>
public sealed class ScriptedAnalyzer : IImageAnalyzer
{
    public ConcurrentDictionary<Guid, int> Calls { get; } = new();

    /// <summary>Runs before the default success; throw from it to fail the call. Gets the call number for this image (1-based).</summary>
    public Func<AnalysisRequest, int, CancellationToken, Task>? Before { get; set; }

    public TimeSpan Delay { get; set; }

    public async Task<AnalysisResult> AnalyzeAsync(AnalysisRequest request, ITierResults results, CancellationToken cancellationToken)
    {
        var call = Calls.AddOrUpdate(request.ImageId, 1, (_, n) => n + 1);
        if (Before is { } before)
            await before(request, call, cancellationToken);
        if (Delay > TimeSpan.Zero)
            await Task.Delay(Delay, cancellationToken);
        await results.SaveAsync(Tier.Classification, new JsonObject
        {
            ["category"] = "exterior", ["angle"] = "front", ["quality_score"] = 8, ["suitable_for_expert"] = false, ["confidence"] = 0.9,
        }, null, cancellationToken);
        return new AnalysisResult(new JsonObject { ["provider"] = "Scripted", ["model"] = "test" },
            new AiCategorization("exterior", "front", 0.9), [], 1);
    }
}
