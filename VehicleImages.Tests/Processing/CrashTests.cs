using Microsoft.Extensions.DependencyInjection;
using VehicleImages.Core.Analysis;
using VehicleImages.Core.Processing;
using VehicleImages.Tests.Integration;
using VehicleImages.Tests.TestHost;
using VehicleImages.Core.Processing.Events;

namespace VehicleImages.Tests.Processing;

/// <summary>What operators do to a running system: kill it hard, restart its database.</summary>
public sealed class CrashTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AppProcess_KilledWithSigkillMidBatch_ASecondInstanceFinishesEverythingOnce()
    {
        var cs = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        var storage = Directory.CreateTempSubdirectory("vi-crash-storage-").FullName;
        Guid[] ids;
        await using (var uploader = await TestApp.StartAsync(cs, new Dictionary<string, string?> { ["Processing:Workers"] = "0" }, storageRoot: storage))
        {
            using var client = await uploader.CreateUserClientAsync();
            var vehicle = await UploadTests.CreateVehicleAsync(client);
            var photo = File.ReadAllBytes(TestData.Image("exif-samples__DSCN0010.jpg"));
            // Distinct files: bytes after the JPEG's end marker change the hash, not the picture.
            var files = Enumerable.Range(0, 40).Select(i => ($"IMG_{i:0000}.jpg", photo.Concat(BitConverter.GetBytes(i)).ToArray())).ToArray();
            var results = new List<Guid>();
            foreach (var chunk in files.Chunk(10))
                results.AddRange((await UploadTests.UploadAsync(client, vehicle, chunk)).Select(r => r.ImageId!.Value));
            ids = [.. results];
        }

        await using (var child = await AppProcess.StartAsync(cs, storage,
            new Dictionary<string, string?> { ["Processing:Workers"] = "1", ["Processing:LeaseSeconds"] = "5" }))
        {
            await ImageRows.WaitForAsync(async () => await ImageRows.CountAsync(cs, "processing_status = 'complete'") >= 2,
                "the child process to analyze its first photos");
            await child.KillAsync(); // SIGKILL: no shutdown hooks, claims left as they were
        }

        var completeAtKill = await ImageRows.CountAsync(cs, "processing_status = 'complete'");
        Assert.True(completeAtKill < ids.Length, "the child finished every photo before it could be killed");

        await using var survivor = await TestApp.StartAsync(cs, new Dictionary<string, string?>
        {
            ["Processing:LeaseSeconds"] = "5", ["Processing:RetryDelaysSeconds:0"] = "0",
        }, storageRoot: storage);
        await ImageRows.WaitForAsync(async () => await ImageRows.CountAsync(cs, "processing_status = 'complete'") == ids.Length,
            "every photo to be analyzed after the crash", TimeSpan.FromSeconds(90));

        // Each photo completed exactly once, and nothing went over its attempts.
        Assert.Equal(ids.Length, (int)await ImageRows.ScalarAsync<long>(cs,
            "SELECT count(DISTINCT image_id) FROM image_processing_attempts WHERE outcome = 'complete'"));
        Assert.Equal((long)ids.Length, await ImageRows.ScalarAsync<long>(cs, "SELECT count(*) FROM image_processing_attempts WHERE outcome = 'complete'"));
        Assert.Equal(0L, await ImageRows.ScalarAsync<long>(cs,
            "SELECT (SELECT count(*) FROM image_processing_jobs WHERE attempt > 4) + (SELECT count(*) FROM image_processing_attempts WHERE attempt > 4)"));
        Directory.Delete(storage, recursive: true);
    }

    [Fact]
    public async Task Listener_DatabaseRestarted_ReconnectsAndWorkFlowsAgain()
    {
        // A cluster of its own: restarting the shared one would disturb every other test.
        var dir = Path.Combine(Path.GetTempPath(), $"vi-restart-pg-{Guid.NewGuid():N}"[..36]);
        var cs = (await PostgresServer.RunScriptAsync("start", dir, "restart_test")).Trim();
        try
        {
            var analyzer = new ScriptedAnalyzer();
            await using var app = await TestApp.StartAsync(cs, new Dictionary<string, string?> { ["Processing:LeaseSeconds"] = "5" },
                s => s.AddSingleton<IImageAnalyzer>(analyzer));
            var listener = app.Services.GetRequiredService<DatabaseListener>();
            await ImageRows.WaitForAsync(() => Task.FromResult(listener.Connected), "the listener to connect");
            var before = await ImageRows.InsertAsync(cs, 3);
            await ImageRows.WaitForAsync(async () => await ImageRows.CountAsync(cs, "processing_status = 'complete'") == 3, "the first photos");

            await PostgresServer.RunScriptAsync("stop", dir);
            await ImageRows.WaitForAsync(() => Task.FromResult(!listener.Connected), "the listener to notice the restart");
            await PostgresServer.RunScriptAsync("start", dir, "restart_test");
            await ImageRows.WaitForAsync(() => Task.FromResult(listener.Connected), "the listener to reconnect", TimeSpan.FromSeconds(30));
            // The test's own pooled connections died with the server (the app's pools recover by themselves).
            Npgsql.NpgsqlConnection.ClearAllPools();

            var after = await ImageRows.InsertAsync(cs, 3);
            await ImageRows.WaitForAsync(async () => await ImageRows.CountAsync(cs, "processing_status = 'complete'") == 6, "the photos after the restart");
            Assert.All(before.Concat(after), id => Assert.Equal(1, analyzer.Calls[id]));
        }
        finally
        {
            await PostgresServer.RunScriptAsync("stop", dir);
            try
            {
                Directory.Delete(dir, recursive: true);
                File.Delete(dir + ".password");
                File.Delete(dir + ".app-password");
            }
            catch (IOException)
            {
            }
        }
    }
}
