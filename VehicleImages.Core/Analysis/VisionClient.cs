using System.ClientModel;
using System.ClientModel.Primitives;
using System.Text.Json.Nodes;
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
public sealed class OpenAiVisionClient : IVisionClient
{
    private readonly ChatClient _chat;
    private readonly string _name;

    public OpenAiVisionClient(ProviderSettings o, IHttpClientFactory http)
    {
        _name = o.Name;
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

    private AnalysisException Classify(ClientResultException e)
    {
        var status = e.Status;
        var body = FirstLine(e.GetRawResponse()?.Content?.ToString() ?? e.Message);
        return status switch
        {
            429 => new AnalysisException(AnalysisFailure.RateLimited, "the AI provider is rate limiting (429)", RetryAfter(e), e),
            401 or 403 => new AnalysisException(AnalysisFailure.Permanent,
                $"the AI provider refused the credentials ({status}); check Analysis__ApiKey", inner: e),
            400 or 404 or 413 or 415 or 422 => new AnalysisException(AnalysisFailure.Permanent,
                $"the AI provider says the request is invalid ({status}): {body}", inner: e),
            0 => new AnalysisException(AnalysisFailure.Transient, $"could not reach the AI provider: {e.Message}", inner: e) { IsOutage = true, Provider = _name },
            >= 500 or 408 => new AnalysisException(AnalysisFailure.Transient, $"the AI provider failed ({status}): {body}", inner: e) { IsOutage = true, Provider = _name },
            _ => new AnalysisException(AnalysisFailure.Transient, $"the AI provider failed ({status}): {body}", inner: e) { Provider = _name },
        };
    }

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

    private static string FirstLine(string s)
    {
        var line = s.Split('\n', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault()?.Trim() ?? "";
        return line.Length > 300 ? line[..300] + "…" : line;
    }

}
