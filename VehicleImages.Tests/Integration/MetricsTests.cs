using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using VehicleImages.Core.Analysis;
using VehicleImages.Tests.TestHost;

namespace VehicleImages.Tests.Integration;

/// <summary>
/// The meter is process-wide, so this class runs alone (after the parallel ones) and reads the
/// change a known run makes.
/// </summary>
[CollectionDefinition(nameof(MetricsTests), DisableParallelization = true)]
public sealed class MetricsCollection;

/// <summary>/metrics in Prometheus text: the values after a known run.</summary>
[Collection(nameof(MetricsTests))]
public sealed class MetricsTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Metrics_AfterThreePhotosAndOneFailure_CountThemOnTheMetricsListener()
    {
        var cs = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        var analyzer = new ScriptedAnalyzer
        {
            Before = (r, _, _) => r.FileName == "IMG_4.jpg" ? throw new AnalysisException(AnalysisFailure.Permanent, "bad request") : Task.CompletedTask,
        };
        // Who may read /metrics (admins, the metrics listener, nobody else) is Security/ProxyTrustTests'.
        var port = TestApp.FreePort();
        await using var app = await TestApp.StartAsync(cs, new Dictionary<string, string?> { ["Metrics:Port"] = $"{port}" },
            s => s.AddSingleton<IImageAnalyzer>(analyzer));
        using var loopback = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
        var before = await ScrapeAsync(loopback);

        var ids = await ImageRows.InsertAsync(cs, 4);
        await ImageRows.WaitForAsync(async () => await ImageRows.CountAsync(cs, "processing_status IN ('complete', 'failed')") == 4, "the run");
        await ImageRows.WaitForAsync(async () => Value(await ScrapeAsync(loopback), "vehicleimages_jobs_finished_total", "outcome=\"failed\"")
            - Value(before, "vehicleimages_jobs_finished_total", "outcome=\"failed\"") == 1, "the metrics to show the run");
        var after = await ScrapeAsync(loopback);

        Assert.Equal(3, Value(after, "vehicleimages_jobs_finished_total", "outcome=\"complete\"") - Value(before, "vehicleimages_jobs_finished_total", "outcome=\"complete\""));
        Assert.Equal(1, Value(after, "vehicleimages_jobs_finished_total", "outcome=\"failed\"") - Value(before, "vehicleimages_jobs_finished_total", "outcome=\"failed\""));
        Assert.True(Value(after, "vehicleimages_claim_latency_seconds_count", "") - Value(before, "vehicleimages_claim_latency_seconds_count", "") >= 4);
        Assert.Contains("vehicleimages_queue_depth", after);
        // Each photo's changes reached the pages: at least its final status per photo, each with its relay time.
        Assert.True(Value(after, "vehicleimages_live_event_latency_seconds_count", "") - Value(before, "vehicleimages_live_event_latency_seconds_count", "") >= 4);
        Assert.Equal(ids.Length, (int)(Value(after, "vehicleimages_jobs_finished_total", "") - Value(before, "vehicleimages_jobs_finished_total", "")));
    }

    private static async Task<string> ScrapeAsync(HttpClient client)
    {
        using var response = await client.GetAsync("metrics", Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync(Ct);
    }

    /// <summary>The sum of a metric's samples whose labels contain <paramref name="label"/>; 0 when absent.</summary>
    private static double Value(string text, string metric, string label) =>
        Regex.Matches(text, $@"^{Regex.Escape(metric)}(\{{[^}}]*\}})? (\S+)", RegexOptions.Multiline)
            .Where(m => m.Groups[1].Value.Contains(label, StringComparison.Ordinal))
            .Sum(m => double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));
}
