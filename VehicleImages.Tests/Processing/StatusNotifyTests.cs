using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using VehicleImages.Core.Analysis;
using VehicleImages.Core.Processing;
using VehicleImages.Tests.TestHost;
using VehicleImages.Core.Processing.Events;
using VehicleImages.Core.Processing.Queue;
using VehicleImages.Core.Processing.Status;

namespace VehicleImages.Tests.Processing;

/// <summary>
/// Status events go out once per statement (ADR 011): a statement that changes many photos sends
/// JSON arrays of the same events, each payload under NOTIFY's 8000-byte limit, and every instance's
/// ProcessingEvents raises one event per photo as before.
/// </summary>
public sealed class StatusNotifyTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task OneStatementChangingManyPhotos_SendsArraysUnderTheLimit_AndEveryPhotoIsHeardOnce()
    {
        var cs = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        await using var app = await TestApp.StartAsync(cs, new Dictionary<string, string?> { ["Processing:Workers"] = "0" });
        var ids = await ImageRows.InsertAsync(cs, 150, status: "complete");
        var heard = new ConcurrentQueue<ImageStatusEvent>();
        var events = app.Services.GetRequiredService<ProcessingEvents>();
        events.ImageStatusChanged += heard.Enqueue;
        var payloads = new ConcurrentQueue<string>();
        await using var listener = new NpgsqlConnection(cs);
        await listener.OpenAsync(Ct);
        listener.Notification += (_, e) => payloads.Enqueue(e.Payload);
        await new NpgsqlCommand($"LISTEN {ProcessingChannels.ImageStatus}", listener).ExecuteNonQueryAsync(Ct);

        // Long reasons in multi-byte characters, so one statement's events need several payloads.
        var reason = string.Concat(Enumerable.Repeat("échec ", 60));
        await ImageRows.ScalarAsync<int>(cs, """
            WITH failed AS (UPDATE vehicle_images SET processing_status = 'failed', processing_error = @reason WHERE id = ANY(@ids) RETURNING 1)
            SELECT count(*)::int FROM failed
            """, ("reason", reason), ("ids", ids));
        // A statement that changes no status announces nothing.
        await ImageRows.ScalarAsync<int>(cs, "WITH t AS (UPDATE vehicle_images SET file_name = file_name || '' WHERE id = ANY(@ids) RETURNING 1) SELECT count(*)::int FROM t",
            ("ids", ids));

        await ImageRows.WaitForAsync(async () =>
        {
            await listener.WaitAsync(TimeSpan.FromMilliseconds(100), Ct);
            return heard.Count(e => e.Status == "failed") >= ids.Length;
        }, "every photo's event");
        await listener.WaitAsync(TimeSpan.FromMilliseconds(500), Ct);

        Assert.True(payloads.Count > 1, "the events needed more than one payload");
        Assert.True(payloads.Count < ids.Length / 5, $"{payloads.Count} payloads for {ids.Length} photos: not one per statement");
        Assert.All(payloads, p =>
        {
            Assert.True(System.Text.Encoding.UTF8.GetByteCount(p) < 8000);
            Assert.Equal(JsonValueKind.Array, JsonDocument.Parse(p).RootElement.ValueKind);
        });
        var failed = heard.Where(e => e.Status == "failed").ToList();
        Assert.Equal(ids.Order(), failed.Select(e => e.ImageId).Order());
        Assert.All(failed, e => Assert.Equal(reason[..300], e.Error));
    }

    /// <summary>
    /// The claim and the completion announce their own photos (ADR 019) instead of the status trigger: each
    /// photo is heard exactly once per change, with the attempt, and the mark that makes the trigger stand
    /// down does not outlive its statement: a tier's save (no status change) and a later status change
    /// made by any other statement on the same pooled connections are handled as before.
    /// </summary>
    [Fact]
    public async Task ClaimAndCompletion_AnnounceEachPhotoOnceWithItsAttempt_AndTheTriggerStillHearsOtherStatements()
    {
        var cs = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        await using var app = await TestApp.StartAsync(cs, new Dictionary<string, string?> { ["Processing:Workers"] = "0" });
        var ids = await ImageRows.InsertAsync(cs, 120);
        var heard = new ConcurrentQueue<ImageStatusEvent>();
        app.Services.GetRequiredService<ProcessingEvents>().ImageStatusChanged += heard.Enqueue;

        var claims = await app.QueueAs("announcer", TimeSpan.FromMinutes(1)).ClaimAsync(ids.Length, Ct);
        Assert.Equal(ids.Length, claims.Count);
        // A tier's answer saved while the claim is held: no status changes, nothing announced.
        await claims[0].SaveAsync(Tier.Classification, new System.Text.Json.Nodes.JsonObject { ["angle"] = "front" }, null, Ct);
        var done = claims.Skip(1).ToList();
        var written = await app.Services.GetRequiredService<CompletionWriter>().WriteTogetherAsync(
            done.Select(c => new Completion(c.Key, new AnalysisResult(new() { ["provider"] = "test" }, null, [], 1))).ToList(), Ct);
        Assert.All(written, Assert.True);
        // Then a status change the trigger announces, made after the marked statements.
        await ImageRows.ScalarAsync<int>(cs, """
            WITH failed AS (UPDATE vehicle_images SET processing_status = 'failed', processing_error = 'by hand' WHERE id = @id RETURNING 1)
            SELECT count(*)::int FROM failed
            """, ("id", claims[0].ImageId));

        await ImageRows.WaitForAsync(() => Task.FromResult(heard.Count(e => e.Status == "complete") >= done.Count && heard.Any(e => e.Status == "failed")),
            "every completion's event and the hand-made failure");
        await Task.Delay(300, Ct);

        var userId = await ImageRows.ScalarAsync<Guid>(cs, "SELECT user_id FROM vehicle_images WHERE id = @id", ("id", ids[0]));
        var vehicleId = await ImageRows.ScalarAsync<Guid>(cs, "SELECT vehicle_id FROM vehicle_images WHERE id = @id", ("id", ids[0]));
        var processing = heard.Where(e => e.Status == "processing").ToList();
        Assert.Equal(ids.Order(), processing.Select(e => e.ImageId).Order());
        Assert.All(processing, e => Assert.Equal((1, vehicleId, userId, (string?)null), (e.Attempts, e.VehicleId, e.UserId, e.Error)));
        var complete = heard.Where(e => e.Status == "complete").ToList();
        Assert.Equal(done.Select(c => c.ImageId).Order(), complete.Select(e => e.ImageId).Order());
        Assert.All(complete, e => Assert.Equal((1, vehicleId, userId, (string?)null), (e.Attempts, e.VehicleId, e.UserId, e.Error)));
        var failed = Assert.Single(heard, e => e.Status == "failed");
        Assert.Equal((claims[0].ImageId, 1, "by hand"), (failed.ImageId, failed.Attempts, failed.Error));
        // Nothing twice (the inserts' pending events may still arrive after the subscription).
        Assert.Equal(ids.Length + done.Count + 1, heard.Count(e => e.Status != "pending"));
    }
}
