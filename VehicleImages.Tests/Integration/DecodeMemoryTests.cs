using System.Net;
using System.Net.Http.Json;
using VehicleImages.Core.Uploads;
using VehicleImages.Tests.TestHost;
using VehicleImages.Web.Endpoints;
using VehicleImages.Web.Uploads;

namespace VehicleImages.Tests.Integration;

/// <summary>
/// 150-megapixel files that are small on disk and huge once decoded, sent to the real app running as a
/// process of its own, so that its peak RSS (VmHWM in /proc/{pid}/status) is the app's alone: the test
/// process generates the files (and holds a JPEG encoder's buffers while doing so), and other tests run
/// in it at the same time.
/// </summary>
public sealed class DecodeMemoryTests
{
    private const long OneGiB = 1024L * 1024 * 1024;
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Upload_150MegapixelInterlacedPngAndProgressiveJpegs_EachAnsweredWithPeakRssUnderOneGiB()
    {
        var dir = Directory.CreateTempSubdirectory("vi-decode-memory-").FullName;
        try
        {
            var png = Path.Combine(dir, "interlaced16.png");
            GeneratedImages.WriteInterlacedPng16(png, 15000, 10000);
            var jpeg = Path.Combine(dir, "progressive.jpg");
            GeneratedImages.WriteProgressiveJpeg(jpeg, 15000, 10000);
            var pngBytes = await File.ReadAllBytesAsync(png, Ct);
            var jpegBytes = await File.ReadAllBytesAsync(jpeg, Ct);
            Assert.True(pngBytes.Length < 1024 * 1024, $"the PNG is {pngBytes.Length} bytes");

            await using var app = await AppProcess.StartAsync(await (await PostgresServer.GetAsync()).CreateDatabaseAsync(), Path.Combine(dir, "storage"));
            using var client = await app.CreateUserClientAsync();
            var vehicleId = await UploadTests.CreateVehicleAsync(client);
            var startedRss = app.PeakRssBytes();

            // Three requests at once: two different progressive JPEGs (the same picture, one byte apart after
            // its end marker) and the PNG. Each JPEG holds ~430 MiB of coefficients while it decodes; run
            // together they would not fit under 1 GiB, one after the other they do.
            var answers = await Task.WhenAll(
                UploadAsync(client, vehicleId, "progressive-1.jpg", jpegBytes),
                UploadAsync(client, vehicleId, "progressive-2.jpg", [.. jpegBytes, 1]),
                UploadAsync(client, vehicleId, "interlaced16.png", pngBytes));
            var peak = app.PeakRssBytes();

            TestContext.Current.TestOutputHelper?.WriteLine(
                $"app peak RSS: {peak / 1048576} MiB (after start-up and sign-in: {startedRss / 1048576} MiB); " +
                $"PNG {pngBytes.Length} bytes, JPEG {jpegBytes.Length} bytes");
            foreach (var a in answers)
                TestContext.Current.TestOutputHelper?.WriteLine($"{a.FileName}: {a.Outcome} {a.Error}");

            var byName = answers.ToDictionary(a => a.FileName);
            Assert.Equal(IngestOutcome.Created, byName["progressive-1.jpg"].Outcome);
            Assert.Equal(IngestOutcome.Created, byName["progressive-2.jpg"].Outcome);
            Assert.Equal(IngestOutcome.Rejected, byName["interlaced16.png"].Outcome);
            Assert.StartsWith("image is a 15000×10000 interlaced 16-bit PNG: decoding it would need about 859 MiB of memory, more than the 512 MiB allowed.",
                byName["interlaced16.png"].Error);
            Assert.True(peak < OneGiB, $"the app's peak RSS was {peak / 1048576} MiB");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static async Task<IngestResult> UploadAsync(HttpClient client, Guid vehicleId, string name, byte[] bytes)
    {
        using var response = await client.PostAsync($"api/vehicles/{vehicleId}/images", UploadTests.Files((name, bytes)), Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<UploadResponse>(Ct))!.Results.Single();
    }
}
