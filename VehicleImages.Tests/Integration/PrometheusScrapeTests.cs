using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using VehicleImages.Core.Analysis;
using VehicleImages.Tests.TestHost;

namespace VehicleImages.Tests.Integration;

/// <summary>
/// Debian's Prometheus server (installed by test.sh) scrapes the app's /metrics, and what it stores is
/// what the app counted: the exposition format is one a real Prometheus accepts, histograms included.
/// Runs in the metrics collection, alone, so the process-wide meter does not move under it.
/// </summary>
[Collection(nameof(MetricsTests))]
public sealed class PrometheusScrapeTests
{
    private const string PrometheusBinary = "/usr/bin/prometheus";
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Prometheus_ScrapesTheApp_AndStoresTheJobsItCounted()
    {
        Assert.True(File.Exists(PrometheusBinary),
            $"{PrometheusBinary} is missing: install Debian's prometheus package (./test.sh does: apt-get install prometheus).");

        var cs = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        // Prometheus scrapes the metrics listener (Metrics:Port), which needs no sign-in; the app's own port would refuse it.
        var metricsPort = FreePort();
        await using var app = await TestApp.StartAsync(cs, new Dictionary<string, string?> { ["Metrics:Port"] = $"{metricsPort}" },
            s => s.AddSingleton<IImageAnalyzer>(new ScriptedAnalyzer()));
        var metrics = new Uri($"http://127.0.0.1:{metricsPort}/");
        await ImageRows.InsertAsync(cs, 3);
        await ImageRows.WaitForAsync(async () => await ImageRows.CountAsync(cs, "processing_status = 'complete'") == 3, "the run");

        using var self = new HttpClient { BaseAddress = metrics };
        var expected = await CompletedAsync(self);
        Assert.True(expected >= 3);

        var dir = Directory.CreateTempSubdirectory("vi-prometheus-").FullName;
        var port = FreePort();
        await File.WriteAllTextAsync(Path.Combine(dir, "prometheus.yml"), $"""
            global:
              scrape_interval: 1s
            scrape_configs:
              - job_name: vehicleimages
                metrics_path: /metrics
                static_configs:
                  - targets: ['{metrics.Authority}']
            """, Ct);
        var start = new ProcessStartInfo(PrometheusBinary) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { $"--config.file={dir}/prometheus.yml", $"--storage.tsdb.path={dir}/data", $"--web.listen-address=127.0.0.1:{port}" })
            start.ArgumentList.Add(a);
        using var prometheus = Process.Start(start)!;
        var log = new System.Text.StringBuilder();
        prometheus.ErrorDataReceived += (_, e) => { lock (log) log.AppendLine(e.Data); };
        prometheus.OutputDataReceived += (_, e) => { lock (log) log.AppendLine(e.Data); };
        prometheus.BeginErrorReadLine();
        prometheus.BeginOutputReadLine();
        try
        {
            using var api = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
            await ImageRows.WaitForAsync(async () => await QueryAsync(api, "up{job=\"vehicleimages\"}") == 1,
                "Prometheus to scrape the app successfully (up == 1)", TimeSpan.FromSeconds(60));
            var target = await api.GetFromJsonAsync<JsonElement>("api/v1/targets", Ct);
            var health = target.GetProperty("data").GetProperty("activeTargets")[0];
            Assert.Equal("up", health.GetProperty("health").GetString());
            Assert.Equal("", health.GetProperty("lastError").GetString());

            Assert.Equal(expected, await QueryAsync(api, "sum(vehicleimages_jobs_finished_total{outcome=\"complete\"})"));
            Assert.True(await QueryAsync(api, "sum(vehicleimages_claim_latency_seconds_count)") >= 3,
                "the claim-latency histogram is stored with its count");
            Assert.NotNull(await QueryAsync(api, "sum(vehicleimages_queue_depth)"));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            lock (log)
                throw new Xunit.Sdk.XunitException($"{e.Message}\nPrometheus said:\n{log}");
        }
        finally
        {
            prometheus.Kill();
            await prometheus.WaitForExitAsync(Ct);
            Directory.Delete(dir, recursive: true);
        }
    }

    private static async Task<double> CompletedAsync(HttpClient self)
    {
        var text = await self.GetStringAsync("metrics", Ct);
        return Regex.Matches(text, @"^vehicleimages_jobs_finished_total\{[^}]*outcome=""complete""[^}]*\} (\S+)", RegexOptions.Multiline)
            .Sum(m => double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture));
    }

    /// <summary>An instant query's single value, or null when Prometheus has no sample (yet).</summary>
    private static async Task<double?> QueryAsync(HttpClient api, string query)
    {
        try
        {
            var answer = await api.GetFromJsonAsync<JsonElement>($"api/v1/query?query={Uri.EscapeDataString(query)}", Ct);
            var result = answer.GetProperty("data").GetProperty("result");
            return result.GetArrayLength() == 0
                ? null
                : double.Parse(result[0].GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture);
        }
        catch (HttpRequestException)
        {
            return null; // not listening yet
        }
    }

    private static int FreePort() => TestApp.FreePort();
}
