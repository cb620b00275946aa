using System.Globalization;
using System.Security.Claims;
using Microsoft.AspNetCore.Http;
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

/// <summary>/metrics in Prometheus text: who may read it, and the values after a known run.</summary>
[Collection(nameof(MetricsTests))]
public sealed class MetricsTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Metrics_AfterThreePhotosAndOneFailure_CountThemFromLoopbackAndRefuseStrangers()
    {
        var cs = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        var analyzer = new ScriptedAnalyzer
        {
            Before = (r, _, _) => r.FileName == "IMG_4.jpg" ? throw new AnalysisException(AnalysisFailure.Permanent, "bad request") : Task.CompletedTask,
        };
        await using var app = await TestApp.StartAsync(cs, null, s => s.AddSingleton<IImageAnalyzer>(analyzer));
        using var loopback = new HttpClient { BaseAddress = app.BaseAddress };
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

    [Fact]
    public void MayReadMetrics_LoopbackOrAdminOnly()
    {
        var remote = new DefaultHttpContext();
        remote.Connection.RemoteIpAddress = IPAddress.Parse("203.0.113.7");
        var local = new DefaultHttpContext();
        local.Connection.RemoteIpAddress = IPAddress.IPv6Loopback;
        var admin = new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Role, "Admin")], "test"));
        var owner = new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, "owner")], "test"));

        Assert.False(Web.Observability.MayReadMetrics(remote, owner));
        Assert.True(Web.Observability.MayReadMetrics(remote, admin));
        Assert.True(Web.Observability.MayReadMetrics(local, owner));
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
