using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using VehicleImages.Core.Alerts;
using VehicleImages.Core.Analysis;
using VehicleImages.Core.Processing;
using VehicleImages.Tests.TestHost;
using VehicleImages.Core.Processing.Chores;
using VehicleImages.Core.Processing.Monitoring;

namespace VehicleImages.Tests.Processing;

public sealed class AdminAndAlertTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<string> DatabaseAsync() => await (await PostgresServer.GetAsync()).CreateDatabaseAsync();

    [Fact]
    public async Task Alert_ImageFailed_IsListedForAdminsAndPostedToTheWebhook()
    {
        // A real HTTP server on loopback standing in for the operator's webhook receiver.
        var received = new ConcurrentQueue<JsonElement>();
        var hookBuilder = WebApplication.CreateSlimBuilder();
        hookBuilder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var hook = hookBuilder.Build();
        hook.MapPost("/hook", async (HttpRequest r) =>
        {
            received.Enqueue(await JsonSerializer.DeserializeAsync<JsonElement>(r.Body));
            return Results.Ok();
        });
        await hook.StartAsync(Ct);
        var hookUrl = hook.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/hook";

        var cs = await DatabaseAsync();
        var analyzer = new ScriptedAnalyzer { Before = (_, _, _) => throw new AnalysisException(AnalysisFailure.Permanent, "the file is gone") };
        await using var app = await TestApp.StartAsync(cs, new Dictionary<string, string?> { ["Alerts:WebhookUrl"] = hookUrl },
            s => s.AddSingleton<IImageAnalyzer>(analyzer));
        using var admin = await app.CreateUserClientAsync();
        using var user = await app.CreateUserClientAsync();
        var id = (await ImageRows.InsertAsync(cs, 1))[0];

        await ImageRows.WaitForAsync(() => Task.FromResult(!received.IsEmpty), "the webhook to receive the alert");

        var alerts = await admin.GetFromJsonAsync<List<AlertView>>("api/admin/alerts", Ct);
        var alert = Assert.Single(alerts!);
        Assert.Equal(("image_failed", id), (alert.Kind, alert.ImageId));
        Assert.Contains("the file is gone", alert.Message);
        Assert.True(received.TryPeek(out var posted));
        Assert.Equal(alert.Id, posted.GetProperty("id").GetGuid());
        Assert.Equal(HttpStatusCode.Forbidden, (await user.GetAsync("api/admin/alerts", Ct)).StatusCode);

        Assert.Equal(HttpStatusCode.NoContent, (await admin.PostAsync($"api/admin/alerts/{alert.Id}/acknowledge", null, Ct)).StatusCode);
        Assert.NotNull(Assert.Single((await admin.GetFromJsonAsync<List<AlertView>>("api/admin/alerts", Ct))!).AcknowledgedAt);
        var failed = await admin.GetFromJsonAsync<List<FailedImageView>>("api/admin/processing/failed", Ct);
        Assert.Equal(("the file is gone", 1), (Assert.Single(failed!).Error, failed![0].Attempts));

        var processing = (await admin.GetFromJsonAsync<JsonElement>($"api/images/{id}", Ct)).GetProperty("processing");
        Assert.Equal(("failed", 1, 4), (processing.GetProperty("status").GetString(), processing.GetProperty("attempts").GetInt32(),
            processing.GetProperty("maxAttempts").GetInt32()));
        var attempt = Assert.Single(processing.GetProperty("history").EnumerateArray());
        Assert.Equal("the file is gone", attempt.GetProperty("error").GetString());
    }

    [Fact]
    public async Task RetryFailed_Admin_RequeuesEveryFailedImageWithFreshAttempts()
    {
        var cs = await DatabaseAsync();
        var fail = true;
        var analyzer = new ScriptedAnalyzer { Before = (_, _, _) => fail ? throw new AnalysisException(AnalysisFailure.Permanent, "no") : Task.CompletedTask };
        await using var app = await TestApp.StartAsync(cs, null, s => s.AddSingleton<IImageAnalyzer>(analyzer));
        using var admin = await app.CreateUserClientAsync();
        var ids = await ImageRows.InsertAsync(cs, 3);
        await ImageRows.WaitForAsync(async () => await ImageRows.CountAsync(cs, "processing_status = 'failed'") == 3, "three failures");

        fail = false;
        var response = await admin.PostAsync("api/admin/processing/retry-failed", null, Ct);

        Assert.Equal(3, (await response.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("requeued").GetInt32());
        await ImageRows.WaitForAsync(async () => await ImageRows.CountAsync(cs, "processing_status = 'complete'") == 3, "three completions");
        Assert.All(ids, id => Assert.Equal(2, analyzer.Calls[id]));
    }

    [Fact]
    public async Task Report_ProcessingByMonth_CountsByTakenAtMonth()
    {
        var cs = await DatabaseAsync();
        await using var app = await TestApp.StartAsync(cs, new Dictionary<string, string?> { ["Processing:Workers"] = "0" });
        using var admin = await app.CreateUserClientAsync();
        await ImageRows.InsertAsync(cs, 2, "complete"); // taken 2024-01-15, never analyzed: unprocessed
        var done = await ImageRows.InsertAsync(cs, 1, "complete");
        await ImageRows.ScalarAsync<int>(cs, """
            UPDATE vehicle_images SET ai_scan_metadata = '{"tier_1_analysis": {"quality_score": 8}}', taken_at = '2024-02-03' WHERE id = @id RETURNING 1
            """, ("id", done[0]));

        var report = await admin.GetFromJsonAsync<List<MonthReport>>("api/admin/reports/processing-by-month", Ct);

        Assert.Equal([new MonthReport("2024-01", 0, 0, 2, 0), new MonthReport("2024-02", 1, 0, 0, 0)], report);
    }

    [Fact]
    public async Task Shutdown_WithWorkInFlight_HandsClaimsBackAtOnceWithTheirAttempt()
    {
        var cs = await DatabaseAsync();
        var analyzer = new ScriptedAnalyzer { Delay = TimeSpan.FromMinutes(5) };
        var app = await TestApp.StartAsync(cs, null, s => s.AddSingleton<IImageAnalyzer>(analyzer));
        var id = (await ImageRows.InsertAsync(cs, 1))[0];
        await ImageRows.WaitForAsync(() => Task.FromResult(analyzer.Calls.ContainsKey(id)), "the worker to start");

        await app.DisposeAsync();

        Assert.Equal("pending", await ImageRows.ScalarAsync<string>(cs, "SELECT status FROM image_processing_jobs WHERE image_id = @id", ("id", id)));
        Assert.Equal(0, await ImageRows.ScalarAsync<int>(cs, "SELECT attempt FROM image_processing_jobs WHERE image_id = @id", ("id", id)));
        Assert.Equal("pending", await ImageRows.ScalarAsync<string>(cs, "SELECT processing_status FROM vehicle_images WHERE id = @id", ("id", id)));
    }

    // Before ADR 017 this test completed three photos, aged one job row and saw the chore delete it. A
    // completion now deletes its own job row, so the old-shape rows here are inserted by SQL, as an
    // instance of the previous version would leave them during a rolling upgrade.
    [Fact]
    public async Task Prune_CompletedJobsOlderThanADay_AreDeletedAndHistoryKept()
    {
        var cs = await DatabaseAsync();
        var analyzer = new ScriptedAnalyzer();
        await using var app = await TestApp.StartAsync(cs, null, s => s.AddSingleton<IImageAnalyzer>(analyzer));
        var ids = await ImageRows.InsertAsync(cs, 3);
        await ImageRows.WaitForAsync(async () => await ImageRows.CountAsync(cs, "processing_status = 'complete'") == 3, "three completions");
        // Completed jobs left the job table with their completions; their history stays.
        Assert.Equal(0L, await ImageRows.ScalarAsync<long>(cs, "SELECT count(*) FROM image_processing_jobs"));
        await ImageRows.ScalarAsync<long>(cs, """
            WITH old AS (
                INSERT INTO image_processing_jobs (image_id, status, attempt, finished_at, updated_at)
                VALUES (@old, 'complete', 1, now() - interval '2 days', now() - interval '2 days'), (@fresh, 'complete', 1, now(), now())
                RETURNING 1)
            SELECT count(*) FROM old
            """, ("old", ids[0]), ("fresh", ids[1]));

        var pruned = await app.Services.GetRequiredService<PruneFinishedJobs>().RunAsync(Ct);

        Assert.Equal(1, pruned);
        Assert.Equal(1L, await ImageRows.ScalarAsync<long>(cs, "SELECT count(*) FROM image_processing_jobs"));
        Assert.Equal(3L, await ImageRows.ScalarAsync<long>(cs, "SELECT count(*) FROM image_processing_attempts"));
    }
}
