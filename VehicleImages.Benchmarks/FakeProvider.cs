using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace VehicleImages.Benchmarks;

/// <summary>
/// An OpenAI-compatible endpoint on loopback that answers tier 1 after a fixed delay (quality 3, so
/// the tiers stop there) and, when given a limit, answers 429 above that many requests a minute.
/// While <see cref="Down"/> it answers every call 500 at once, as a provider whose backend is down
/// does, and counts those calls apart (they are not <see cref="Accepted"/>).
/// </summary>
public sealed class FakeProvider : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<DateTimeOffset> _accepted = new();
    private readonly ConcurrentQueue<DateTimeOffset> _whileDown = new();
    private volatile bool _down;

    private FakeProvider(WebApplication app) => _app = app;

    public int Accepted => _accepted.Count;
    public int Refused;
    public TimeSpan Delay { get; init; }
    public int? PerMinute { get; init; }
    public IReadOnlyCollection<DateTimeOffset> AcceptedAt => _accepted;

    /// <summary>Answer every call 500 (the backend is down) until set back to false.</summary>
    public bool Down
    {
        get => _down;
        set => _down = value;
    }

    /// <summary>Calls received while <see cref="Down"/>, each answered 500.</summary>
    public int CallsWhileDown => _whileDown.Count;

    public IReadOnlyCollection<DateTimeOffset> CallsWhileDownAt => _whileDown;

    public Uri Endpoint => new(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/v1");

    public static async Task<FakeProvider> StartAsync(TimeSpan delay, int? perMinute = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var fake = new FakeProvider(app) { Delay = delay, PerMinute = perMinute };
        var gate = new Lock();
        app.MapPost("/v1/chat/completions", async (HttpRequest request) =>
        {
            using var body = await JsonDocument.ParseAsync(request.Body);
            if (fake.Down)
            {
                fake._whileDown.Enqueue(DateTimeOffset.UtcNow);
                return Results.Json(new { error = new { message = "The server had an error while processing your request.", type = "server_error" } },
                    statusCode: 500);
            }

            if (fake.PerMinute is { } limit)
            {
                lock (gate)
                {
                    var now = DateTimeOffset.UtcNow;
                    if (fake._accepted.Count(t => now - t < TimeSpan.FromMinutes(1)) >= limit)
                    {
                        Interlocked.Increment(ref fake.Refused);
                        request.HttpContext.Response.Headers["Retry-After"] = "1";
                        return Results.Json(new { error = new { message = "rate limited", type = "rate_limit_exceeded" } }, statusCode: 429);
                    }

                    fake._accepted.Enqueue(now);
                }
            }
            else
            {
                fake._accepted.Enqueue(DateTimeOffset.UtcNow);
            }

            await Task.Delay(fake.Delay);
            var content = JsonSerializer.Serialize(new
            {
                category = "exterior", angle = "front", quality_score = 3, suitable_for_expert = false,
                confidence = 0.9, lighting = "normal", focus = "sharp", closeup = false,
            });
            return Results.Json(new
            {
                id = "x", @object = "chat.completion", created = 0, model = "fake",
                choices = new[] { new { index = 0, message = new { role = "assistant", content }, finish_reason = "stop" } },
                usage = new { prompt_tokens = 10, completion_tokens = 10, total_tokens = 20 },
            });
        });
        await app.StartAsync();
        return fake;
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
