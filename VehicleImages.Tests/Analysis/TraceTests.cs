using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using VehicleImages.Core.Alerts;
using OpenTelemetry.Trace;
using VehicleImages.Tests.Integration;
using VehicleImages.Tests.TestHost;

namespace VehicleImages.Tests.Analysis;

/// <summary>One photo, one trace: the upload request, its analysis across the queue, each provider call, the result's write.</summary>
public sealed class TraceTests
{
    [Fact]
    public async Task Trace_UploadToCompletion_OneTraceWithTheRightParents()
    {
        await using var fake = await FakeOpenAiServer.StartAsync();
        var spans = new List<Activity>();
        var cs = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        await using var app = await TestApp.StartAsync(cs, new Dictionary<string, string?>
        {
            ["Telemetry:Tracing"] = "true",
            ["Analysis:Provider"] = "OpenAI",
            ["Analysis:Endpoint"] = fake.Endpoint.ToString(),
            ["Analysis:RequestsPerMinute"] = "6000",
            ["Analysis:Tier3MinLongEdge"] = "100000",
        }, s => s.ConfigureOpenTelemetryTracerProvider(t => t.AddInMemoryExporter(spans)));
        using var client = await app.CreateUserClientAsync();
        var vehicle = await UploadTests.CreateVehicleAsync(client);

        var file = "exif-orientation-examples__Landscape_2.jpg";
        var id = (await UploadTests.UploadAsync(client, vehicle, (file, File.ReadAllBytes(TestData.Image(file)))))[0].ImageId!.Value;
        await ImageRows.WaitForAsync(async () => await ImageRows.CountAsync(cs, "id = @id AND processing_status = 'complete'", ("id", id)) == 1, "the analysis");
        await ImageRows.WaitForAsync(() => Task.FromResult(Snapshot(spans) is var seen && seen.Any(w => w.DisplayName == "write result"
            && seen.Any(a => a.TraceId == w.TraceId && Equals(a.GetTagItem("vehicleimages.image_id")?.ToString(), id.ToString())))), "the result's span");

        // The tracer listens to the ActivitySource process-wide, so spans of other test classes
        // analyzing photos at the same time land here too: this photo's analysis is the one tagged
        // with its id, and the other spans are those of its trace.
        var all = Snapshot(spans);
        var analyze = all.Single(s => s.DisplayName == "analyze photo" && Equals(s.GetTagItem("vehicleimages.image_id")?.ToString(), id.ToString()));
        var trace = all.Where(s => s.TraceId == analyze.TraceId).ToList();
        var upload = trace.Single(s => s.Kind == ActivityKind.Server && s.DisplayName.StartsWith("POST", StringComparison.Ordinal)
            && s.DisplayName.Contains("images", StringComparison.Ordinal));
        var calls = trace.Where(s => s.DisplayName.StartsWith("provider tier", StringComparison.Ordinal)).ToList();
        var write = trace.Single(s => s.DisplayName == "write result");

        Assert.Equal(upload.TraceId, analyze.TraceId);
        Assert.Equal(upload.SpanId, analyze.ParentSpanId);
        Assert.Equal(["provider tier 1", "provider tier 2"], calls.Select(c => c.DisplayName).Order());
        Assert.All(calls, c => Assert.Equal(analyze.SpanId, c.ParentSpanId));
        Assert.Equal(analyze.SpanId, write.ParentSpanId);
        Assert.All(calls.Append(write), s => Assert.Equal(upload.TraceId, s.TraceId));
    }

    [Fact]
    public async Task Trace_AlertWebhook_ItsSecretUrlIsInNoClientSpan_OtherCallsAreStillTraced()
    {
        const string secret = "T0000/B0000/XXXXsecretXXXX";
        var received = 0;
        var hookBuilder = WebApplication.CreateSlimBuilder();
        hookBuilder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var hook = hookBuilder.Build();
        hook.MapPost("/services/{**rest}", () => { Interlocked.Increment(ref received); return Results.Ok(); });
        hook.MapGet("/ping", () => "pong");
        await hook.StartAsync(TestContext.Current.CancellationToken);
        var hookBase = hook.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

        var spans = new List<Activity>();
        var cs = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        await using var app = await TestApp.StartAsync(cs, new Dictionary<string, string?>
        {
            ["Telemetry:Tracing"] = "true",
            ["Alerts:WebhookUrl"] = $"{hookBase}/services/{secret}",
        }, s => s.ConfigureOpenTelemetryTracerProvider(t => t.AddInMemoryExporter(spans)));

        await app.Services.GetRequiredService<AlertService>().RaiseAsync("test_alert", "a test alert", TestContext.Current.CancellationToken);
        await ImageRows.WaitForAsync(() => Task.FromResult(Volatile.Read(ref received) == 1), "the webhook to receive the alert");
        // Another outgoing call of the app's, to the same host: client spans are recorded, so their absence below means something.
        using var other = app.Services.GetRequiredService<IHttpClientFactory>().CreateClient();
        Assert.Equal("pong", await other.GetStringAsync($"{hookBase}/ping", TestContext.Current.CancellationToken));
        await ImageRows.WaitForAsync(() => Task.FromResult(ClientSpans(spans).Any(s => Tags(s).Contains("/ping"))), "the traced call's span");

        // The receiver runs in this test's process, so its own server span is its business; the app's outgoing spans are ours.
        Assert.DoesNotContain(ClientSpans(spans), s => Tags(s).Contains(secret) || s.DisplayName.Contains(secret));
        Assert.DoesNotContain(ClientSpans(spans), s => Tags(s).Contains("/services/"));
    }

    private static List<Activity> ClientSpans(List<Activity> spans) => [.. Snapshot(spans).Where(s => s.Kind == ActivityKind.Client)];

    private static string Tags(Activity span) => string.Join(" ", span.TagObjects.Select(t => $"{t.Key}={t.Value}"));

    private static List<Activity> Snapshot(List<Activity> spans)
    {
        lock (spans)
            return [.. spans];
    }
}
