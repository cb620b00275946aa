using VehicleImages.Web.Live;

namespace VehicleImages.Tests.Live;

/// <summary>The gallery's compact status per photo: rows in any order, found by id, new photos inserted, removed ones gone.</summary>
public sealed class PhotoStatusesTests
{
    private static async IAsyncEnumerable<(Guid Id, string Status)> Rows(IEnumerable<(Guid, string)> rows)
    {
        foreach (var row in rows)
        {
            await Task.Yield();
            yield return row;
        }
    }

    private static byte Code(string status) => status switch { "pending" => 0, "complete" => 2, _ => 3 };

    [Fact]
    public async Task Read_ThousandsOfRowsInTheDatabasesOrder_EachFoundByIdWithItsCode()
    {
        // More rows than the first pooled buffer holds, so the buffers grow while reading.
        var rows = Enumerable.Range(0, 5_000).Select(i => (Guid.NewGuid(), i % 3 == 0 ? "complete" : "pending")).ToList();

        var statuses = await PhotoStatuses.ReadAsync(Rows(rows), Code);

        Assert.Equal(5_000, statuses.Count);
        foreach (var (id, status) in rows)
        {
            Assert.True(statuses.TryGetValue(id, out var code));
            Assert.Equal(Code(status), code);
        }

        Assert.False(statuses.TryGetValue(Guid.NewGuid(), out _));
    }

    [Fact]
    public async Task Set_NewPhotosAndChanges_AreFoundAfterwardsWithTheOthersIntact()
    {
        var first = Enumerable.Range(0, 20).Select(_ => Guid.NewGuid()).ToList();
        var statuses = await PhotoStatuses.ReadAsync(Rows(first.Select(id => (id, "pending"))), Code);
        var added = Enumerable.Range(0, 100).Select(_ => Guid.NewGuid()).ToList();

        foreach (var id in added)
            statuses.Set(id, 3);
        statuses.Set(first[5], 2);

        Assert.Equal(120, statuses.Count);
        Assert.All(added, id => Assert.True(statuses.TryGetValue(id, out var code) && code == 3));
        Assert.True(statuses.TryGetValue(first[5], out var changed) && changed == 2);
        Assert.All(first.Where(id => id != first[5]), id => Assert.True(statuses.TryGetValue(id, out var code) && code == 0));
    }

    [Fact]
    public async Task Remove_APhoto_IsNoLongerFoundAndGivesItsLastCode()
    {
        var ids = Enumerable.Range(0, 10).Select(_ => Guid.NewGuid()).ToList();
        var statuses = await PhotoStatuses.ReadAsync(Rows(ids.Select(id => (id, "complete"))), Code);

        Assert.True(statuses.Remove(ids[3], out var was));
        Assert.Equal(2, was);
        Assert.False(statuses.Remove(ids[3], out _));

        Assert.Equal(9, statuses.Count);
        Assert.False(statuses.TryGetValue(ids[3], out _));
        Assert.All(ids.Where(id => id != ids[3]), id => Assert.True(statuses.TryGetValue(id, out _)));
    }

    [Fact]
    public void Empty_FindsNothing_AndTakesANewPhoto()
    {
        var statuses = PhotoStatuses.Empty;
        var id = Guid.NewGuid();

        Assert.False(statuses.TryGetValue(id, out _));
        statuses.Set(id, 1);

        Assert.True(statuses.TryGetValue(id, out var code) && code == 1);
    }
}
