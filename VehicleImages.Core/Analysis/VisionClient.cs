using System.ClientModel;
using System.ClientModel.Primitives;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using OpenAI;
using OpenAI.Chat;

namespace VehicleImages.Core.Analysis;

public sealed record VisionAnswer(JsonObject Answer, int InputTokens, int OutputTokens);

/// <summary>One call to a vision model for one tier.</summary>
public interface IVisionClient
{
    Task<VisionAnswer> AskAsync(Tier tier, byte[] jpeg, CancellationToken cancellationToken);
}

/// <summary>
/// Any OpenAI-compatible chat-completions endpoint (OpenAI, Azure's compatible endpoint, Ollama, vLLM,
/// LM Studio…) through the official OpenAI .NET SDK. The photo goes inline as a data URL, never a
/// link; the answer is constrained by a strict JSON schema and checked again on arrival. The SDK's
/// own retries are off: the queue retries, and two retry loops would multiply each other.
/// </summary>
public sealed partial class OpenAiVisionClient : IVisionClient
{
    private readonly ChatClient _chat;
    private readonly string _name;
    private readonly ILogger _logger;

    public OpenAiVisionClient(ProviderSettings o, IHttpClientFactory http, ILogger<OpenAiVisionClient> logger)
    {
        _name = o.Name;
        _logger = logger;
        var client = http.CreateClient(nameof(OpenAiVisionClient));
        client.Timeout = Timeout.InfiniteTimeSpan; // NetworkTimeout below is the one timeout
        _chat = new ChatClient(o.Model, new ApiKeyCredential(string.IsNullOrEmpty(o.ApiKey) ? "none" : o.ApiKey), new OpenAIClientOptions
        {
            Endpoint = o.Endpoint,
            NetworkTimeout = TimeSpan.FromSeconds(o.TimeoutSeconds),
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
            Transport = new HttpClientPipelineTransport(client),
        });
    }

    public async Task<VisionAnswer> AskAsync(Tier tier, byte[] jpeg, CancellationToken cancellationToken)
    {
        ChatMessage[] messages =
        [
            new SystemChatMessage(Prompts.System),
            new UserChatMessage(
                ChatMessageContentPart.CreateTextPart(Prompts.ForTier(tier)),
                ChatMessageContentPart.CreateImagePart(BinaryData.FromBytes(jpeg), "image/jpeg", ChatImageDetailLevel.Auto)),
        ];
        var options = new ChatCompletionOptions
        {
            ResponseFormat = ChatResponseFormat.CreateJsonSchemaFormat(
                Prompts.SchemaName(tier), BinaryData.FromString(Prompts.Schema(tier).ToJsonString()), jsonSchemaIsStrict: true),
            Temperature = 0,
        };

        ChatCompletion completion;
        try
        {
            completion = (await _chat.CompleteChatAsync(messages, options, cancellationToken)).Value;
        }
        catch (ClientResultException e)
        {
            throw Classify(e);
        }
        catch (Exception e) when (e is HttpRequestException or IOException)
        {
            throw new AnalysisException(AnalysisFailure.Transient, $"could not reach the AI provider: {e.Message}", inner: e) { IsOutage = true, Provider = _name };
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new AnalysisException(AnalysisFailure.Transient, "the AI provider timed out", inner: e) { IsOutage = true, Provider = _name };
        }

        var content = completion.Content.Count > 0 ? completion.Content[0].Text : null;
        var answer = TierAnswers.Parse(tier, content);
        return new VisionAnswer(answer, completion.Usage?.InputTokenCount ?? 0, completion.Usage?.OutputTokenCount ?? 0);
    }

    /// <summary>
    /// What kind of failure the provider's answer was, in words an owner can read. The provider's body
    /// may echo the request or carry its own internals, so it goes only to the server log (Debug);
    /// the error names the status and, when the body has one, the provider's short error code.
    /// </summary>
    private AnalysisException Classify(ClientResultException e)
    {
        var status = e.Status;
        var body = e.GetRawResponse()?.Content?.ToString();
        _logger.LogDebug("{Provider} answered {Status}: {Body}", _name, status, body ?? e.Message);
        var said = ErrorCode(body) is { } code ? $"{status}, {code}" : $"{status}";
        return status switch
        {
            429 => new AnalysisException(AnalysisFailure.RateLimited, "the AI provider is rate limiting (429)", RetryAfter(e), e),
            401 or 403 => new AnalysisException(AnalysisFailure.Permanent,
                $"the AI provider refused the credentials ({status}); check Analysis__ApiKey", inner: e),
            404 => new AnalysisException(AnalysisFailure.Permanent,
                $"the AI provider does not know this model or address ({said}); check Analysis__Model and Analysis__Endpoint", inner: e),
            413 => new AnalysisException(AnalysisFailure.Permanent, $"the AI provider refused the photo as too large ({said})", inner: e),
            400 or 415 or 422 => new AnalysisException(AnalysisFailure.Permanent,
                $"the AI provider says the request is invalid ({said})", inner: e),
            0 => new AnalysisException(AnalysisFailure.Transient, "could not reach the AI provider", inner: e) { IsOutage = true, Provider = _name },
            >= 500 or 408 => new AnalysisException(AnalysisFailure.Transient, $"the AI provider failed ({said})", inner: e) { IsOutage = true, Provider = _name },
            _ => new AnalysisException(AnalysisFailure.Transient, $"the AI provider failed ({said})", inner: e) { Provider = _name },
        };
    }

    /// <summary>The <c>error.code</c> (or <c>error.type</c>) of an OpenAI-style error body, when it is a short identifier.</summary>
    private static string? ErrorCode(string? body)
    {
        if (string.IsNullOrWhiteSpace(body))
            return null;
        try
        {
            var error = JsonNode.Parse(body) is JsonObject root ? root["error"] as JsonObject : null;
            foreach (var field in new[] { "code", "type" })
                if (error?[field] is JsonValue value && value.TryGetValue<string>(out var code) && ShortCode().IsMatch(code))
                    return code;
        }
        catch (JsonException)
        {
            // Not JSON: there is no code to name.
        }

        return null;
    }

    [GeneratedRegex("^[A-Za-z0-9_.-]{1,64}$")]
    private static partial Regex ShortCode();

    /// <summary>Retry-After in seconds or as an HTTP date; 30 s when the provider did not say.</summary>
    private static TimeSpan RetryAfter(ClientResultException e)
    {
        if (e.GetRawResponse()?.Headers.TryGetValue("Retry-After", out var value) == true && value is not null)
        {
            if (double.TryParse(value, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var seconds))
                return TimeSpan.FromSeconds(Math.Clamp(seconds, 0, 3600));
            if (DateTimeOffset.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var at))
                return at - DateTimeOffset.UtcNow is { } wait && wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
        }

        return TimeSpan.FromSeconds(30);
    }

}
