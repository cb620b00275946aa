using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;
using VehicleImages.Core.Configuration;
using VehicleImages.Tests.TestHost;
using VehicleImages.Web;

namespace VehicleImages.Tests.Integration;

public sealed class ConfigurationTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<Exception> StartFailureAsync(params (string Key, string Value)[] settings)
    {
        var cs = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        var app = VehicleImagesApp.Build(["--urls", "http://127.0.0.1:0"], b =>
            b.Configuration.AddInMemoryCollection(
                settings.Select(s => KeyValuePair.Create(s.Key, (string?)s.Value))
                    .Append(KeyValuePair.Create("ConnectionStrings:Default", (string?)cs))));
        await using (app)
            return await Assert.ThrowsAnyAsync<Exception>(() => VehicleImagesApp.StartAsync(app, Ct));
    }

    [Theory]
    [InlineData("Processing:MaxAttempts", "0", "Processing__MaxAttempts")]
    [InlineData("Processing:Workers", "-1", "Processing__Workers")]
    [InlineData("Processing:LeaseSeconds", "1", "Processing__LeaseSeconds")]
    [InlineData("Processing:RetryDelaysSeconds:0", "-5", "Processing__RetryDelaysSeconds")]
    [InlineData("Upload:MaxFileBytes", "0", "Upload__MaxFileBytes")]
    [InlineData("Upload:MaxPixels", "-1", "Upload__MaxPixels")]
    [InlineData("Upload:MaxDecodeBytes", "0", "Upload__MaxDecodeBytes")]
    [InlineData("Analysis:Endpoint", "ftp://example.test/v1", "Analysis__Endpoint")]
    [InlineData("Analysis:RequestsPerMinute", "0", "Analysis__RequestsPerMinute")]
    [InlineData("Analysis:TimeoutSeconds", "0", "Analysis__TimeoutSeconds")]
    [InlineData("Analysis:Tier2MinQuality", "11", "Analysis__Tier2MinQuality")]
    [InlineData("Analysis:Tier3MinLongEdge", "0", "Analysis__Tier3MinLongEdge")]
    [InlineData("Analysis:Model", "", "Analysis__Model")]
    [InlineData("Analysis:BreakSeconds", "0", "Analysis__BreakSeconds")]
    [InlineData("Analysis:Fallbacks:0:Endpoint", "ftp://example.test/v1", "Analysis__Fallbacks__0__Endpoint")]
    [InlineData("Analysis:Fallbacks:0:Endpoint", "http://localhost:11434/v1", "Analysis__Fallbacks__0__Model")]
    [InlineData("Storage:Root", "", "Storage__Root")]
    [InlineData("Alerts:WebhookUrl", "not a url", "Alerts__WebhookUrl")]
    [InlineData("Upload:MaxFilesPerRequest", "0", "Upload__MaxFilesPerRequest")]
    [InlineData("RateLimits:AuthPerMinute", "-1", "RateLimits__AuthPerMinute")]
    [InlineData("RateLimits:UploadsPerMinute", "-1", "RateLimits__UploadsPerMinute")]
    [InlineData("RateLimits:UploadPatchesPerMinute", "-1", "RateLimits__UploadPatchesPerMinute")]
    [InlineData("Upload:MaxUnfinishedPerUser", "0", "Upload__MaxUnfinishedPerUser")]
    [InlineData("Quotas:MaxStoredBytes", "-1", "Quotas__MaxStoredBytes")]
    [InlineData("Quotas:PhotosPerDay", "-1", "Quotas__PhotosPerDay")]
    [InlineData("Quotas:ProviderCallsPerDay", "-1", "Quotas__ProviderCallsPerDay")]
    [InlineData("Accounts:InvitationDays", "0", "Accounts__InvitationDays")]
    [InlineData("ForwardedHeaders:KnownProxies", "proxy.example.test", "ForwardedHeaders__KnownProxies")]
    [InlineData("ForwardedHeaders:KnownNetworks:0", "10.0.0.0/99", "ForwardedHeaders__KnownNetworks")]
    [InlineData("Metrics:Port", "70000", "Metrics__Port")]
    [InlineData("Metrics:Host", " ", "Metrics__Host")]
    public async Task Start_InvalidValue_StopsNamingTheKey(string key, string value, string named)
    {
        var error = await StartFailureAsync((key, value));

        Assert.IsType<OptionsValidationException>(error);
        Assert.Contains(named, error.Message);
    }

    [Theory]
    [InlineData("Processing:MaxAttempts", "four", "Processing:MaxAttempts")]
    [InlineData("Analysis:Provider", "Claude", "Analysis:Provider")]
    [InlineData("Accounts:Registration", "sometimes", "Accounts:Registration")]
    public async Task Start_UnparsableValue_StopsNamingTheKey(string key, string value, string named)
    {
        var error = await StartFailureAsync((key, value));

        Assert.Contains(named, error.Message);
    }

    [Fact]
    public async Task Options_Defaults_MatchTheContract()
    {
        await using var app = await TestApp.StartAsync(await (await PostgresServer.GetAsync()).CreateDatabaseAsync());

        var processing = app.Services.GetRequiredService<IOptions<ProcessingOptions>>().Value;
        var analysis = app.Services.GetRequiredService<IOptions<AnalysisOptions>>().Value;
        var upload = app.Services.GetRequiredService<IOptions<UploadOptions>>().Value;

        Assert.Equal((4, 4, 60), (processing.Workers, processing.MaxAttempts, processing.LeaseSeconds));
        Assert.Equal([5, 15, 60], processing.RetryDelaysSeconds!);
        Assert.Equal((AnalysisProvider.Local, "https://api.openai.com/v1", "gpt-4o-mini", 60, 60, 7, 3000),
            (analysis.Provider, analysis.Endpoint.OriginalString, analysis.Model, analysis.RequestsPerMinute,
                analysis.TimeoutSeconds, analysis.Tier2MinQuality, analysis.Tier3MinLongEdge));
        Assert.Equal((52_428_800L, 150_000_000L, 536_870_912L), (upload.MaxFileBytes, upload.MaxPixels, upload.MaxDecodeBytes));
    }

    [Fact]
    public async Task RetryDelays_Configured_ReplaceTheDefaultsRatherThanAppend()
    {
        await using var app = await TestApp.StartAsync(await (await PostgresServer.GetAsync()).CreateDatabaseAsync(),
            new Dictionary<string, string?> { ["Processing:RetryDelaysSeconds:0"] = "1", ["Processing:RetryDelaysSeconds:1"] = "2" });

        var processing = app.Services.GetRequiredService<IOptions<ProcessingOptions>>().Value;

        Assert.Equal([1, 2], processing.RetryDelaysSeconds!);
        Assert.Equal(TimeSpan.FromSeconds(2), processing.RetryDelay(3)); // the last delay repeats
    }

    private static Task<(int ExitCode, string Output)> RunAppProcessAsync(IDictionary<string, string> environment, params string[] args) =>
        AppProcess.RunToExitAsync(environment, args);

    [Fact]
    public async Task Process_BadMaxAttempts_ExitsWithMessageNamingTheKey()
    {
        var cs = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();

        var (exit, output) = await RunAppProcessAsync(new Dictionary<string, string>
        {
            ["ConnectionStrings__Default"] = cs,
            ["Processing__MaxAttempts"] = "0",
            ["ASPNETCORE_URLS"] = "http://127.0.0.1:0",
        });

        Assert.Equal(1, exit);
        Assert.Contains("Processing__MaxAttempts", output);
        Assert.DoesNotContain("   at ", output); // a message, not a stack trace
    }

    [Fact]
    public async Task Process_MigrateOnly_AppliesMigrationsToAnEmptyDatabaseAndExits()
    {
        var cs = await (await PostgresServer.GetAsync()).CreateEmptyDatabaseAsync();

        var (exit, output) = await RunAppProcessAsync(new Dictionary<string, string> { ["ConnectionStrings__Default"] = cs }, "--migrate-only");

        Assert.True(exit == 0, output);
        await using var connection = new NpgsqlConnection(cs);
        await connection.OpenAsync(Ct);
        await using var cmd = new NpgsqlCommand("SELECT to_regclass('public.vehicle_images') IS NOT NULL", connection);
        Assert.True((bool)(await cmd.ExecuteScalarAsync(Ct))!);
    }

    [Fact]
    public async Task Process_Backfill_QueuesUnanalyzedRowsAndExits()
    {
        var cs = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        var ids = await ImageRows.InsertAsync(cs, 2, "complete"); // marked complete by the old system, never analyzed

        var (exit, output) = await RunAppProcessAsync(new Dictionary<string, string> { ["ConnectionStrings__Default"] = cs }, "backfill");

        Assert.True(exit == 0, output);
        Assert.Contains("Queued 2 image(s)", output);
        Assert.Equal(2L, await ImageRows.ScalarAsync<long>(cs, "SELECT count(*) FROM image_processing_jobs WHERE status = 'pending' AND image_id = ANY(@ids)", ("ids", ids)));
    }

    [Fact]
    public async Task Process_DatabaseUnreachable_ExitsWithAClearMessage()
    {
        var (exit, output) = await RunAppProcessAsync(new Dictionary<string, string>
        {
            ["ConnectionStrings__Default"] = "Host=127.0.0.1;Port=1;Database=nothing;Username=x;Password=y;Timeout=3",
        }, "--migrate-only");

        Assert.Equal(1, exit);
        Assert.Contains("did not answer", output);
        Assert.Contains("ConnectionStrings__Default", output);
    }
}
