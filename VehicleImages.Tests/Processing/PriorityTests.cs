using Microsoft.Extensions.DependencyInjection;
using VehicleImages.Core.Analysis;
using VehicleImages.Core.Processing;
using VehicleImages.Tests.TestHost;
using VehicleImages.Core.Processing.Admin;
using VehicleImages.Core.Processing.Queue;

namespace VehicleImages.Tests.Processing;

/// <summary>New uploads are claimed before re-analysis and backfill, however many of those wait.</summary>
public sealed class PriorityTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task NewUpload_WhileALargeReanalysisWaits_IsAnalyzedFirst()
    {
        var cs = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        var analyzer = new ScriptedAnalyzer { Delay = TimeSpan.FromMilliseconds(20) };
        await using var app = await TestApp.StartAsync(cs, new Dictionary<string, string?> { ["Processing:Workers"] = "1" },
            s => s.AddSingleton<IImageAnalyzer>(analyzer));
        var library = await ImageRows.InsertAsync(cs, 200);
        await ImageRows.WaitForAsync(async () => await ImageRows.CountAsync(cs, "processing_status = 'complete'") == 200, "the library's first analysis",
            TimeSpan.FromSeconds(60));

        Assert.Equal(200, await app.Services.GetRequiredService<ProcessingCommands>().ReanalyzeAsync(new ReanalysisFilter(), Ct));
        var fresh = (await ImageRows.InsertAsync(cs, 1))[0];
        await ImageRows.WaitForAsync(async () => await ImageRows.CountAsync(cs, "id = @id AND processing_status = 'complete'", ("id", fresh)) == 1,
            "the new upload");

        // 200 re-analyses take 4 s at 20 ms each; the new photo went ahead of most of them.
        var stillWaiting = await ImageRows.CountAsync(cs, "id = ANY(@ids) AND processing_status <> 'complete'", ("ids", library));
        Assert.InRange(stillWaiting, 100, 200);
        // Its job completed, so its priority is read from its completing attempt (ADR 017).
        Assert.Equal(JobPriority.Upload, await ImageRows.ScalarAsync<short>(cs,
            "SELECT priority FROM image_processing_attempts WHERE image_id = @id AND outcome = 'complete'", ("id", fresh)));
    }
}
