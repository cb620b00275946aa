using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using VehicleImages.Core.Embeddings;
using VehicleImages.Tests.TestHost;

namespace VehicleImages.Tests.Embeddings;

/// <summary>
/// Stacks do not depend on the order photos are measured in: a photo close to two photos that are not close to each other
/// joins them into one stack (single link over every close pair), whichever was placed first. Workers measure a burst's
/// copies in parallel, so any order happens (a burst once ended as two stacks when the middle copy came last).
/// </summary>
public sealed class StackPlacementTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A unit vector at <paramref name="degrees"/> in the plane of the first two axes: cosine distance 1 − cos of the angle between two.</summary>
    private static float[] At(double degrees)
    {
        var v = new float[ImageEmbedder.Dimensions];
        v[0] = (float)Math.Cos(degrees * Math.PI / 180);
        v[1] = (float)Math.Sin(degrees * Math.PI / 180);
        return v;
    }

    [Theory]
    [InlineData("left", "right", "middle")]
    [InlineData("left", "middle", "right")]
    [InlineData("middle", "left", "right")]
    public async Task ThreePhotosLinkedThroughTheMiddleOne_EndInOneStack_WhateverTheOrder(string first, string second, string third)
    {
        // 0° and 40° are 0.23 apart (over the threshold); 20° is 0.06 from each.
        var angles = new Dictionary<string, double> { ["left"] = 0, ["middle"] = 20, ["right"] = 40 };
        Assert.True(ImageEmbedder.Distance(At(0), At(40)) > StackService.Threshold);
        Assert.True(ImageEmbedder.Distance(At(0), At(20)) <= StackService.Threshold);

        var cs = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        var ids = await ImageRows.InsertAsync(cs, 3, "processing");
        var vehicle = await ImageRows.ScalarAsync<Guid>(cs, "SELECT vehicle_id FROM vehicle_images WHERE id = @id", ("id", ids[0]));
        var photo = new Dictionary<string, Guid> { ["left"] = ids[0], ["middle"] = ids[1], ["right"] = ids[2] };
        await using var core = CoreServices.Build(cs);
        var stacks = core.Services.GetRequiredService<StackService>();

        foreach (var name in new[] { first, second, third })
        {
            // As the local step does: the embedding stored, then the photo placed.
            await using (var connection = new NpgsqlConnection(cs))
            {
                await connection.OpenAsync(Ct);
                await using var insert = new NpgsqlCommand(
                    "INSERT INTO image_embeddings (image_id, vector, focus, exposure, model) VALUES (@id, @v, 100, 0.1, 'test')", connection);
                insert.Parameters.AddWithValue("id", photo[name]);
                insert.Parameters.AddWithValue("v", At(angles[name]));
                await insert.ExecuteNonQueryAsync(Ct);
            }
            await stacks.PlaceAsync(photo[name], vehicle, At(angles[name]), Ct);
        }

        Assert.Equal(1L, await ImageRows.ScalarAsync<long>(cs, "SELECT count(DISTINCT vi_image_stack(id)) FROM unnest(@ids) AS id", ("ids", ids)));
        Assert.NotNull(await ImageRows.ScalarAsync<object>(cs, "SELECT vi_image_stack(@id)", ("id", ids[0])) as Guid?);
        Assert.Equal(1L, await ImageRows.ScalarAsync<long>(cs, "SELECT count(*) FROM image_stacks WHERE vehicle_id = @v", ("v", vehicle)));
        var described = await stacks.DescribeVehicleAsync(vehicle, Ct);
        Assert.All(ids, id => Assert.Equal(3, described[id].StackSize));
        Assert.Single(ids, id => described[id].IsStackBest);
    }
}
