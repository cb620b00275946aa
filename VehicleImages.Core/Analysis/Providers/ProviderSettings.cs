using VehicleImages.Core.Configuration;

namespace VehicleImages.Core.Analysis;

/// <summary>One OpenAI-compatible provider of the chain, with the primary's rate and timeout filled in.</summary>
public sealed record ProviderSettings(string Name, Uri Endpoint, string Model, string? ApiKey, int RequestsPerMinute, int TimeoutSeconds)
{
    /// <summary>The primary (Analysis:Endpoint…) first, then Analysis:Fallbacks in order.</summary>
    public static IReadOnlyList<ProviderSettings> Chain(AnalysisOptions o) =>
    [
        new(o.Name, o.Endpoint, o.Model, o.ApiKey, o.RequestsPerMinute, o.TimeoutSeconds),
        .. o.Fallbacks.Select((f, i) => new ProviderSettings(
            string.IsNullOrWhiteSpace(f.Name) ? $"fallback-{i + 1}" : f.Name, f.Endpoint!, f.Model!,
            f.ApiKey, f.RequestsPerMinute ?? o.RequestsPerMinute, f.TimeoutSeconds ?? o.TimeoutSeconds)),
    ];
}
