using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using VehicleImages.Core.Images;
using VehicleImages.Core.Uploads;
using VehicleImages.Tests.Integration;
using VehicleImages.Tests.TestHost;
using VehicleImages.Web.Endpoints;
using VehicleImages.Web.Uploads;

namespace VehicleImages.Tests.Storage;

/// <summary>The orphan sweep: stored files no row names go; photos stay.</summary>
public sealed class OrphanSweepTests(AppFixture fixture) : IClassFixture<AppFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static (string, byte[]) Real(string file) => (file, File.ReadAllBytes(TestData.Image(file)));

    [Fact]
    public async Task Sweep_FilesWithoutARow_AreRemovedAndPhotosKept()
    {
        // What a process killed between writing files and committing its row leaves behind.
        using var client = await fixture.App.CreateUserClientAsync();
        var vehicleId = await UploadTests.CreateVehicleAsync(client);
        var kept = (await UploadTests.UploadAsync(client, vehicleId, Real("exif-samples__Kodak_CX7530.jpg")))[0].ImageId!.Value;
        var root = fixture.App.StorageRoot;
        var orphanSha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Guid.NewGuid().ToByteArray()));
        string[] orphanFiles =
        [
            Path.Combine(root, "originals", orphanSha[..2], orphanSha + ".jpg"),
            Path.Combine(root, "variants", orphanSha[..2], orphanSha, "thumb.jpg"),
            Path.Combine(root, "tmp", "abandoned.part"),
        ];
        var anHourAgo = DateTime.UtcNow.AddHours(-1);
        foreach (var f in orphanFiles)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(f)!);
            await File.WriteAllBytesAsync(f, [1, 2, 3], Ct);
        }

        // Everything looks old, the photo's own files included: only the database decides what stays.
        foreach (var f in Directory.GetFiles(root, "*", SearchOption.AllDirectories))
            File.SetLastWriteTimeUtc(f, anHourAgo);

        var result = await fixture.App.Services.GetRequiredService<VehicleImages.Core.Storage.OrphanSweeper>()
            .SweepAsync(TimeSpan.FromMinutes(10), Ct);

        Assert.Equal((1, 2), (result.TemporaryFiles, result.OrphanFiles));
        Assert.All(orphanFiles, f => Assert.False(File.Exists(f), f));
        foreach (var variant in new[] { "original", "large", "medium", "thumb" })
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"api/images/{kept}/{variant}", Ct)).StatusCode);
    }
}
