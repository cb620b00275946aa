using Microsoft.Extensions.DependencyInjection;
using VehicleImages.Core.Embeddings;
using VehicleImages.Tests.Integration;
using VehicleImages.Tests.TestHost;

namespace VehicleImages.Tests.Embeddings;

/// <summary>Photos analysed before the embedding step existed are measured and stacked by the backfill chore.</summary>
public sealed class BackfillEmbeddingsTests
{
    [Fact]
    public async Task Backfill_measures_photos_analysed_before_and_stacks_their_bursts()
    {
        var cs = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        await using var app = await TestApp.StartAsync(cs);
        using var owner = await app.CreateUserClientAsync();
        var vehicle = await UploadTests.CreateVehicleAsync(owner);
        var medium = Bursts.Medium(Path.Combine(Bursts.VehiclesFolder, "test_089.jpg"));
        var ids = (await UploadTests.UploadAsync(owner, vehicle, ("a.jpg", medium), ("b.jpg", Bursts.Make(medium, "darker")),
            ("c.jpg", File.ReadAllBytes(Path.Combine(Bursts.VehiclesFolder, "test_090.jpg"))))).Select(r => r.ImageId!.Value).ToArray();
        await ImageRows.WaitForAsync(async () => await ImageRows.CountAsync(cs, "id = ANY(@ids) AND processing_status = 'complete'", ("ids", ids)) == ids.Length,
            "every photo analysed", TimeSpan.FromSeconds(120));

        // As if analysed before the step existed: no measures, no stacks.
        await ImageRows.ScalarAsync<int>(cs, "DELETE FROM image_stack_members; DELETE FROM image_stacks; DELETE FROM image_embeddings; SELECT 1");

        var handled = await app.Services.GetRequiredService<BackfillEmbeddings>().RunAsync(TestContext.Current.CancellationToken);

        Assert.Equal(3, handled);
        Assert.Equal(3L, await ImageRows.ScalarAsync<long>(cs, "SELECT count(*) FROM image_embeddings WHERE image_id = ANY(@ids) AND cardinality(vector) = 512", ("ids", ids)));
        Assert.Equal(1L, await ImageRows.ScalarAsync<long>(cs,
            "SELECT count(DISTINCT stack_id) FROM image_stack_members WHERE image_id = ANY(@ids) AND stack_id IS NOT NULL", ("ids", ids[..2])));
        Assert.Equal(0L, await ImageRows.ScalarAsync<long>(cs, "SELECT count(*) FROM image_stack_members WHERE image_id = @id AND stack_id IS NOT NULL", ("id", ids[2])));
        Assert.Equal(0, await app.Services.GetRequiredService<BackfillEmbeddings>().RunAsync(TestContext.Current.CancellationToken));
    }
}
