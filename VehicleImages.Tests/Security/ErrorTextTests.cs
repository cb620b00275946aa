using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using VehicleImages.Core.Alerts;
using VehicleImages.Core.Analysis;
using VehicleImages.Core.Processing;
using VehicleImages.Tests.Integration;
using VehicleImages.Tests.TestHost;
using VehicleImages.Core.Processing.Workers;

namespace VehicleImages.Tests.Security;

/// <summary>What owners read names the kind of failure, never a server path or a provider's raw answer; secrets stay out of the log.</summary>
public sealed class ErrorTextTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<string> DatabaseAsync() => await (await PostgresServer.GetAsync()).CreateDatabaseAsync();

    [Fact]
    public async Task ProviderRefusal_ShowsAClassifiedReason_TheRawBodyOnlyInTheDebugLog()
    {
        await using var fake = await FakeOpenAiServer.StartAsync();
        fake.Script = (_, _) => FakeMode.BadRequest;
        var capture = new LogCapture();
        var cs = await DatabaseAsync();
        await using var app = await TestApp.StartAsync(cs, new Dictionary<string, string?>
        {
            ["Analysis:Provider"] = "OpenAI",
            ["Analysis:Endpoint"] = fake.Endpoint.ToString(),
            ["Analysis:ApiKey"] = "sk-test-key",
            ["Analysis:RequestsPerMinute"] = "6000",
            ["Logging:LogLevel:VehicleImages.Core.Analysis"] = "Debug",
        }, s => s.AddSingleton<ILoggerProvider>(capture));
        using var client = await app.CreateUserClientAsync();
        var vehicle = await UploadTests.CreateVehicleAsync(client);
        var id = (await UploadTests.UploadAsync(client, vehicle, ("car.jpg", File.ReadAllBytes(TestData.Image("exif-samples__Canon_40D.jpg")))))
            .Single().ImageId!.Value;

        await ImageRows.WaitForAsync(async () => await ImageRows.CountAsync(cs, "id = @id AND processing_status = 'failed'", ("id", id)) == 1,
            "the photo to fail");

        var detail = await client.GetFromJsonAsync<JsonElement>($"api/images/{id}", Ct);
        Assert.Equal($"the AI provider says the request is invalid (400, {FakeOpenAiServer.BadRequestCode})", detail.GetProperty("lastError").GetString());
        Assert.DoesNotContain("/srv/", detail.GetRawText());
        await ImageRows.WaitForAsync(async () => await ImageRows.ScalarAsync<long>(cs, "SELECT count(*) FROM admin_alerts WHERE image_id = @id", ("id", id)) > 0,
            "the failure alert");
        Assert.Equal(0L, await ImageRows.ScalarAsync<long>(cs, "SELECT count(*) FROM admin_alerts WHERE message LIKE '%/srv/%'"));
        // The server log keeps the provider's own words, at Debug only.
        var entries = capture.Entries.ToList();
        Assert.Contains(entries, e => e.Level == LogLevel.Debug && e.Message.Contains(FakeOpenAiServer.BadRequestMessage));
        Assert.DoesNotContain(entries, e => e.Level > LogLevel.Debug && e.Message.Contains(FakeOpenAiServer.BadRequestMessage));
    }

    [Fact]
    public async Task UnexpectedAnalyzerError_ShowsNoServerPath_TheLogHasIt()
    {
        const string path = "/srv/vehicleimages/.data/images/variants/ab/abc/medium.jpg";
        var analyzer = new ScriptedAnalyzer { Before = (_, _, _) => throw new UnauthorizedAccessException($"Access to the path '{path}' is denied.") };
        var capture = new LogCapture();
        var cs = await DatabaseAsync();
        await using var app = await TestApp.StartAsync(cs, new Dictionary<string, string?> { ["Processing:MaxAttempts"] = "1" }, s =>
        {
            s.AddSingleton<IImageAnalyzer>(analyzer);
            s.AddSingleton<ILoggerProvider>(capture);
        });
        var id = (await ImageRows.InsertAsync(cs, 1))[0];

        await ImageRows.WaitForAsync(async () => await ImageRows.CountAsync(cs, "id = @id AND processing_status = 'failed'", ("id", id)) == 1,
            "the photo to fail");

        Assert.Equal(WorkerPool.UnexpectedError, await ImageRows.ScalarAsync<string>(cs, "SELECT processing_error FROM vehicle_images WHERE id = @id", ("id", id)));
        Assert.Contains(capture.Entries, e => e.Level == LogLevel.Error && e.Exception?.Message.Contains(path) == true);
    }

    [Fact]
    public async Task AlertWebhook_Unreachable_IsLoggedWithoutItsUrl_EvenAtTrace()
    {
        // A port nobody listens on: the webhook call is refused at once.
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        const string secret = "s3cr3t-hook-token";
        var capture = new LogCapture();
        await using var app = await TestApp.StartAsync(await DatabaseAsync(), new Dictionary<string, string?>
        {
            ["Processing:Workers"] = "0",
            ["Alerts:WebhookUrl"] = $"http://127.0.0.1:{port}/hooks/T0/B0/{secret}?key={secret}",
            ["Logging:LogLevel:System.Net.Http.HttpClient"] = "Trace",
            ["Logging:LogLevel:VehicleImages.Core.Alerts"] = "Trace",
        }, s => s.AddSingleton<ILoggerProvider>(capture));

        await app.Services.GetRequiredService<AlertService>().RaiseAsync(AlertKind.ProviderUnavailable, "test alert", Ct);

        await ImageRows.WaitForAsync(() => Task.FromResult(capture.Entries.Any(e => e.Category == typeof(AlertService).FullName && e.Level == LogLevel.Warning)),
            "the webhook failure to be logged");
        Assert.DoesNotContain(capture.Entries, e => e.Message.Contains(secret) || e.Exception?.ToString().Contains(secret) == true);
    }
}
