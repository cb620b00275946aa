using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using VehicleImages.Core.Processing.Queue;

namespace VehicleImages.Rig;

public enum FakeMode
{
    Ok,
    Slow,
    RateLimited,
    ServerError,
    Malformed,
    OutOfSchema,
    Unauthorized,

    /// <summary>Whatever the request's own schema allows, ranges sometimes ignored (see SchemaAnswers).</summary>
    SchemaObeying,

    /// <summary>The connection is dropped without an answer, as a server that went away does.</summary>
    Refuse,

    /// <summary>400 with an OpenAI-style error whose message names a path on the provider's side (<see cref="FakeOpenAiServer.BadRequestMessage"/>).</summary>
    BadRequest,

    /// <summary>The connection is reset (a TCP RST, no answer), as a crashed proxy or a dropped NAT entry does.</summary>
    Reset,

    /// <summary>No answer at all until the client gives up: the app's own timeout ends the call.</summary>
    Hang,
}

/// <summary>
/// An OpenAI-compatible chat-completions server on loopback (real Kestrel), for tests: it records
/// every request and answers well, slowly, with 429 + Retry-After, 500, malformed JSON, content outside
/// the schema or 401, drops or resets the connection, or never answers, as the test scripts it; it can
/// also close its port (connections refused) and open it again on the same address. The benchmarks use the same server
/// (<see cref="StartForBenchmarksAsync"/>): a fixed provider time, a per-minute limit answered with 429, a backend that is down.
/// </summary>
public sealed class FakeOpenAiServer : IAsyncDisposable
{
    public const string BadRequestMessage = "Invalid image: could not read /srv/provider/tmp/req-42/image.png";
    public const string BadRequestCode = "invalid_image";

    private readonly SemaphoreSlim _port = new(1, 1);
    private WebApplication? _app;
    private string _address = "http://127.0.0.1:0";
    private int _calls;
    private readonly Random _random = new(20261125);
    private readonly ConcurrentQueue<DateTimeOffset> _accepted = new();
    private readonly ConcurrentQueue<DateTimeOffset> _whileDown = new();
    private readonly Lock _minute = new();
    private int _refused;

    private FakeOpenAiServer()
    {
    }

    public ConcurrentQueue<FakeCall> Calls { get; } = new();

    /// <summary>Chooses the answer for (tier, n-th call of the whole run); Ok unless set.</summary>
    public Func<int, int, FakeMode> Script { get; set; } = (_, _) => FakeMode.Ok;

    /// <summary>Chooses the answer from the call itself (its image, say) before <see cref="Script"/>; null falls through to it.</summary>
    public Func<FakeCall, FakeMode?>? ByCall { get; set; }

    public JsonObject Tier1 { get; set; } = new()
    {
        ["category"] = "exterior", ["angle"] = "front_3q_left", ["quality_score"] = 8, ["suitable_for_expert"] = true,
        ["confidence"] = 0.87, ["lighting"] = "normal", ["focus"] = "sharp", ["closeup"] = false,
    };

    public JsonObject Tier2 { get; set; } = new()
    {
        ["components"] = new JsonArray(
            new JsonObject { ["name"] = "headlight", ["area"] = "front left", ["condition"] = "good", ["confidence"] = 0.8,
                ["bbox"] = new JsonObject { ["x"] = 0.1, ["y"] = 0.4, ["width"] = 0.2, ["height"] = 0.1 } },
            new JsonObject { ["name"] = "bumper", ["area"] = "front", ["condition"] = "fair", ["confidence"] = 0.6, ["bbox"] = null }),
    };

    public JsonObject Tier3 { get; set; } = new()
    {
        ["summary"] = "A well kept example.", ["condition_rating"] = 8, ["originality"] = "original",
        ["damage"] = new JsonArray("stone chips on the bonnet"), ["recommendations"] = new JsonArray("touch up the chips"),
    };

    public TimeSpan SlowDelay { get; set; } = TimeSpan.FromMilliseconds(300);

    /// <summary>How long every answer that is not a fault takes (a provider's own time); none unless set.</summary>
    public TimeSpan AnswerDelay { get; set; }

    /// <summary>When set, calls above this many in the last minute answer 429 with <c>Retry-After: 1</c> (counted in <see cref="Refused"/>).</summary>
    public int? PerMinute { get; set; }

    /// <summary>While true every call answers 500 at once, as a provider whose backend is down; such calls are counted apart.</summary>
    public bool Down { get; set; }

    /// <summary>False keeps no request bodies in <see cref="Calls"/> (a benchmark's thousands of calls); the counts stay.</summary>
    public bool RecordCalls { get; set; } = true;

    /// <summary>Calls let through (not refused by <see cref="PerMinute"/>, not received while <see cref="Down"/>).</summary>
    public int Accepted => _accepted.Count;

    public IReadOnlyCollection<DateTimeOffset> AcceptedAt => _accepted;

    /// <summary>Calls answered 429 by <see cref="PerMinute"/>.</summary>
    public int Refused => Volatile.Read(ref _refused);

    /// <summary>Calls received while <see cref="Down"/>, each answered 500.</summary>
    public int CallsWhileDown => _whileDown.Count;

    public IReadOnlyCollection<DateTimeOffset> CallsWhileDownAt => _whileDown;

    public Uri Endpoint => new(_address + "/v1");

    /// <summary>True while the port is closed (<see cref="ClosePortAsync"/>).</summary>
    public bool IsClosed => _app is null;

    public IReadOnlyList<int> Tiers => Calls.Select(c => c.Tier).ToList();

    public static async Task<FakeOpenAiServer> StartAsync()
    {
        var server = new FakeOpenAiServer();
        await server.OpenPortAsync();
        return server;
    }

    /// <summary>
    /// The benchmarks' provider: every call takes <paramref name="answerDelay"/> and tier 1 answers quality 3, so a photo costs
    /// one call; above <paramref name="perMinute"/> calls a minute it answers 429.
    /// </summary>
    public static async Task<FakeOpenAiServer> StartForBenchmarksAsync(TimeSpan answerDelay, int? perMinute = null)
    {
        var server = new FakeOpenAiServer
        {
            AnswerDelay = answerDelay, PerMinute = perMinute, RecordCalls = false,
            Tier1 = new JsonObject
            {
                ["category"] = "exterior", ["angle"] = "front", ["quality_score"] = 3, ["suitable_for_expert"] = false,
                ["confidence"] = 0.9, ["lighting"] = "normal", ["focus"] = "sharp", ["closeup"] = false,
            },
        };
        await server.OpenPortAsync();
        return server;
    }

    /// <summary>Stops listening: every connection to the address is refused until <see cref="OpenPortAsync"/>.</summary>
    public async Task ClosePortAsync()
    {
        await _port.WaitAsync();
        try
        {
            if (_app is null)
                return;
            await _app.StopAsync();
            await _app.DisposeAsync();
            _app = null;
        }
        finally
        {
            _port.Release();
        }
    }

    /// <summary>Listens again, on the same address as before.</summary>
    public async Task OpenPortAsync()
    {
        await _port.WaitAsync();
        try
        {
            if (_app is not null)
                return;
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseUrls(_address);
            builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(1));
            var app = builder.Build();
            app.MapPost("/v1/chat/completions", HandleAsync);
            await app.StartAsync();
            _address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            _app = app;
        }
        finally
        {
            _port.Release();
        }
    }

    private async Task<IResult> HandleAsync(HttpRequest request)
    {
        var body = await JsonSerializer.DeserializeAsync<JsonElement>(request.Body);
        if (Down)
        {
            _whileDown.Enqueue(DateTimeOffset.UtcNow);
            return Results.Json(Error("The server had an error while processing your request.", "server_error"), statusCode: 500);
        }

        if (PerMinute is { } limit)
        {
            lock (_minute)
            {
                var now = DateTimeOffset.UtcNow;
                if (_accepted.Count(t => now - t < TimeSpan.FromMinutes(1)) >= limit)
                {
                    Interlocked.Increment(ref _refused);
                    request.HttpContext.Response.Headers["Retry-After"] = "1";
                    return Results.Json(Error("Rate limit reached", "rate_limit_exceeded"), statusCode: 429);
                }

                _accepted.Enqueue(now);
            }
        }
        else
        {
            _accepted.Enqueue(DateTimeOffset.UtcNow);
        }

        var schemaName = body.GetProperty("response_format").GetProperty("json_schema").GetProperty("name").GetString()!;
        var tier = int.Parse(schemaName[^1..]);
        var (width, height) = FakeCall.ImageSize(body);
        var call = new FakeCall(tier, body, request.Headers.Authorization.ToString()) { ImageWidth = width, ImageHeight = height };
        if (RecordCalls)
            Calls.Enqueue(call);
        var n = Interlocked.Increment(ref _calls);
        switch (ByCall?.Invoke(call) ?? Script(tier, n))
        {
            case FakeMode.RateLimited:
                request.HttpContext.Response.Headers["Retry-After"] = "1";
                return Results.Json(Error("Rate limit reached", "rate_limit_exceeded"), statusCode: 429);
            case FakeMode.ServerError:
                return Results.Json(Error("The server had an error", "server_error"), statusCode: 500);
            case FakeMode.BadRequest:
                return Results.Json(new { error = new { message = BadRequestMessage, type = "invalid_request_error", code = BadRequestCode } }, statusCode: 400);
            case FakeMode.Unauthorized:
                return Results.Json(Error("Incorrect API key provided", "invalid_api_key"), statusCode: 401);
            case FakeMode.Malformed:
                return Completion(body, "{\"category\": \"exterior\", \"angle\": ");
            case FakeMode.OutOfSchema:
                var wrong = (JsonObject)Answer(tier).DeepClone();
                wrong["category"] = "spaceship";
                wrong["quality_score"] = 42;
                return Completion(body, wrong.ToJsonString());
            case FakeMode.Refuse:
                request.HttpContext.Abort();
                return Results.Empty;
            case FakeMode.Reset:
                // Linger 0: closing sends a RST, not a FIN.
                if (request.HttpContext.Features.Get<IConnectionSocketFeature>()?.Socket is { } socket)
                {
                    socket.LingerState = new System.Net.Sockets.LingerOption(true, 0);
                    socket.Close();
                }

                request.HttpContext.Abort();
                return Results.Empty;
            case FakeMode.Hang:
                try
                {
                    await Task.Delay(Timeout.Infinite, request.HttpContext.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                    // The client gave up.
                }

                return Results.Empty;
            case FakeMode.SchemaObeying:
                var schema = body.GetProperty("response_format").GetProperty("json_schema").GetProperty("schema");
                string generated;
                lock (_random)
                    generated = new SchemaAnswers(_random, honourRanges: _random.Next(2) == 0).Generate(schema)!.ToJsonString();
                return Completion(body, generated);
            case FakeMode.Slow:
                await Task.Delay(SlowDelay);
                return Completion(body, Answer(tier).ToJsonString());
            default:
                if (AnswerDelay > TimeSpan.Zero)
                    await Task.Delay(AnswerDelay);
                return Completion(body, Answer(tier).ToJsonString());
        }
    }

    private JsonObject Answer(int tier) => tier switch { 1 => Tier1, 2 => Tier2, _ => Tier3 };

    private static IResult Completion(JsonElement request, string content) => Results.Json(new
    {
        id = "chatcmpl-" + Guid.NewGuid().ToString("N"),
        @object = "chat.completion",
        created = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
        model = request.GetProperty("model").GetString(),
        choices = new[] { new { index = 0, message = new { role = "assistant", content }, finish_reason = "stop" } },
        usage = new { prompt_tokens = 1000, completion_tokens = 50, total_tokens = 1050 },
    });

    private static object Error(string message, string code) => new { error = new { message, type = code, code } };

    public async ValueTask DisposeAsync()
    {
        await ClosePortAsync();
        _port.Dispose();
    }
}
