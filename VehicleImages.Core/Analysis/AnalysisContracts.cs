using System.Text.Json.Nodes;
using VehicleImages.Core.Images;

namespace VehicleImages.Core.Analysis;

/// <summary>What the queue hands the analyzer for one image.</summary>
public sealed record AnalysisRequest(
    Guid ImageId,
    string FileName,
    int? Width,
    int? Height,
    VariantSet? Variants,
    JsonObject? Existing);

/// <summary>
/// Where an analyzer puts each tier's answer the moment it arrives, so a retry resumes at the first
/// tier without one and never pays for a finished tier again. The queue's claim implements it: a
/// save after the claim was lost throws, and the analysis stops.
/// </summary>
public interface ITierResults
{
    /// <summary>Stores one tier's answer and, when given, the usage totals so far, in one write.</summary>
    Task SaveAsync(Tier tier, JsonObject answer, JsonObject? usage, CancellationToken cancellationToken);
}

public sealed record AiCategorization(string Category, string Angle, double Confidence);

public sealed record LocatedComponent(string Name, string? Area, string? Condition, double? Confidence,
    double? X, double? Y, double? Width, double? Height, int Tier);

/// <summary>
/// The keys beside the tiers (provider, model, analyzed_at, skip reasons), the categorisation and
/// located components to store, and how far the tiers got.
/// </summary>
public sealed record AnalysisResult(
    JsonObject Metadata,
    AiCategorization? Categorization,
    IReadOnlyList<LocatedComponent> Components,
    int TierReached)
{
    /// <summary>Who answered in this attempt and the tokens it cost, for the attempt's history row.</summary>
    public AttemptUsage? Usage { get; init; }

    /// <summary>The plates and faces tier 1 saw, written as <c>ai</c> privacy boxes; null when tier 1 did not say (nothing is changed).</summary>
    public IReadOnlyList<Privacy.BoxF>? PrivacyBoxes { get; init; }

    /// <summary>The source of the categorization's angle row: <c>ai</c>, or <c>inherited</c> when it was taken from the stack's best with no call.</summary>
    public string CategorizationSource { get; init; } = AngleSource.Ai;
}

public sealed record AttemptUsage(string Provider, string Model, int PromptTokens, int CompletionTokens);

/// <summary>Analyses one image; each tier's answer goes to <c>results</c> as it arrives.</summary>
public interface IImageAnalyzer
{
    Task<AnalysisResult> AnalyzeAsync(AnalysisRequest request, ITierResults results, CancellationToken cancellationToken);
}

public enum AnalysisFailure
{
    /// <summary>Worth another attempt: 5xx, timeouts, malformed answers, lost connections.</summary>
    Transient,

    /// <summary>No retry can fix it: the file is gone, the request is invalid, authentication fails.</summary>
    Permanent,

    /// <summary>The provider said 429: wait, slow everyone down, spend no attempt.</summary>
    RateLimited,

    /// <summary>No provider of the chain is available (an outage): the photo waits, spending no attempt.</summary>
    Unavailable,

    /// <summary>Another photo's analysis will answer for this one (its stack's best): it waits RetryAfter, spending no attempt.</summary>
    Deferred,
}

public sealed class AnalysisException(AnalysisFailure failure, string message, TimeSpan? retryAfter = null, Exception? inner = null)
    : Exception(message, inner)
{
    public AnalysisFailure Failure { get; } = failure;
    public TimeSpan? RetryAfter { get; } = retryAfter;

    /// <summary>
    /// The provider itself is in trouble (refused or lost connection, 5xx, timeout), not this photo:
    /// such failures count towards the provider's circuit breaker.
    /// </summary>
    public bool IsOutage { get; init; }

    /// <summary>The provider that failed (or answered what could not be read), when one did.</summary>
    public string? Provider { get; init; }

    /// <summary>The model of that provider, so an attempt names who answered it.</summary>
    public string? Model { get; init; }

    /// <summary>The same failure, naming the provider and model that was asked.</summary>
    public AnalysisException AnsweredBy(string provider, string model) =>
        new(Failure, Message, RetryAfter, InnerException ?? this) { IsOutage = IsOutage, Provider = provider, Model = model };
}

public static class AnalysisRequestExtensions
{
    /// <summary>The tier's answer from an earlier attempt, if that attempt got so far.</summary>
    public static JsonObject? Done(this AnalysisRequest request, Tier tier) => request.Existing?[tier.Key()] as JsonObject;

    /// <summary>
    /// The bytes of one of the photo's variants. Missing files are a permanent failure: no retry
    /// brings them back (the photo must be uploaded again).
    /// </summary>
    public static async Task<(byte[] Bytes, StoredObject Stored)> ReadVariantAsync(this AnalysisRequest request,
        Storage.IImageStore store, string variant, CancellationToken cancellationToken)
    {
        // A store that does not answer throws StoreUnavailableException: the worker gives the attempt back.
        if (request.Variants?.Get(variant) is not { } stored || await store.OpenReadAsync(stored.Key, cancellationToken) is not { } stream)
            throw new AnalysisException(AnalysisFailure.Permanent, "the photo's files are missing from storage");
        await using (stream)
        {
            using var buffer = new MemoryStream();
            await stream.CopyToAsync(buffer, cancellationToken);
            return (buffer.ToArray(), stored);
        }
    }
}
