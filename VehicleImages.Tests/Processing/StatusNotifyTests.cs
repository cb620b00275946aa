using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using VehicleImages.Core.Processing;
using VehicleImages.Tests.TestHost;

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
}
