using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using VehicleImages.Core.Export;
using VehicleImages.Core.Storage;
using VehicleImages.Tests.Integration;
using VehicleImages.Tests.TestHost;

namespace VehicleImages.Tests.Listings;

/// <summary>
/// The export as a stream: a client that hangs up mid-zip stops the server's work and frees its place, the per-user
/// limit answers 429, and the S3 store gives the same zip (streamed from the bucket on s3rver).
/// </summary>
public sealed class ExportStreamingTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>
    /// Photos in the big vehicle: about 40 MB of zip at 2048 and 1600, far more than loopback's socket buffers hold,
    /// so a server writing to a client that does not read waits for it (it cannot finish on its own).
    /// </summary>
    private const int BigCount = 100;

    private static (string Name, byte[] Bytes) File(string name) => (name, System.IO.File.ReadAllBytes(TestData.Image(name)));

    /// <summary>
    /// A vehicle named <paramref name="name"/> with one analysed photo and <paramref name="copies"/> more rows for the same
    /// stored files (made in SQL: uploading a hundred files would cost minutes of this machine's two cores).
    /// </summary>
    private static async Task<Guid> VehicleAsync(string cs, HttpClient client, string name, int copies)
    {
        var vehicle = await UploadTests.CreateVehicleAsync(client, name);
        var id = (await UploadTests.UploadAsync(client, vehicle, File("exif-samples__canon_hdr_YES.jpg"))).Single().ImageId!.Value;
        await ExportTests.AnalysedAsync(cs, (id, "exterior.front_3q_left"));
        if (copies > 0)
            await ImageRows.ScalarAsync<int>(cs, """
                INSERT INTO vehicle_images
                SELECT (jsonb_populate_record(NULL::vehicle_images, to_jsonb(v)
                        || jsonb_build_object('id', gen_random_uuid(), 'is_primary', false, 'sha256', md5(@id::text || g::text)))).*
                FROM vehicle_images v, generate_series(1, @n) g WHERE v.id = @id;
                SELECT 1
                """, ("id", id), ("n", copies));
        return vehicle;
    }

    /// <summary>The app with one export at a time per user, and the export's own log entries (Debug up) kept.</summary>
    private static Task<TestApp> StartAsync(string cs, LogCapture capture) => TestApp.StartAsync(cs,
        new Dictionary<string, string?> { ["Processing:Workers"] = "0", ["Export:ConcurrentPerUser"] = "1" },
        s =>
        {
            s.AddSingleton<ILoggerProvider>(capture);
            s.Configure<LoggerFilterOptions>(o => o.Rules.Add(new LoggerFilterRule(typeof(LogCapture).FullName, typeof(ExportService).FullName, LogLevel.Debug, null)));
        });

    /// <summary>Entries the server has made so far for the vehicle named <paramref name="vehicle"/>.</summary>
    private static int Written(LogCapture capture, string vehicle) =>
        capture.Entries.Count(e => e.Message.StartsWith($"Export of {vehicle}: entry ", StringComparison.Ordinal));

    /// <summary>Asks for <paramref name="path"/> on a socket of its own, reads the status line and the first bytes, and resets the connection.</summary>
    private static async Task HangUpAfterFirstBytesAsync(TestApp app, HttpClient client, string path)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(app.BaseAddress.Host, app.BaseAddress.Port, Ct);
        tcp.LingerState = new LingerOption(true, 0); // closing sends RST at once
        var stream = tcp.GetStream();
        var request = $"GET /{path} HTTP/1.1\r\nHost: {app.BaseAddress.Authority}\r\nAuthorization: {client.DefaultRequestHeaders.Authorization}\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request), Ct);
        var received = new MemoryStream();
        var buffer = new byte[16 * 1024];
        while (received.Length < 64 * 1024)
        {
            var n = await stream.ReadAsync(buffer, Ct);
            Assert.True(n > 0, "the server closed the export before its first bytes");
            received.Write(buffer, 0, n);
        }
        var text = Encoding.ASCII.GetString(received.ToArray());
        Assert.StartsWith("HTTP/1.1 200", text, StringComparison.Ordinal);
        Assert.Contains("PK\u0003\u0004", text[text.IndexOf("\r\n\r\n", StringComparison.Ordinal)..], StringComparison.Ordinal);
    }

    /// <summary>Waits for the server to say the export of <paramref name="vehicle"/> stopped and its place is free.</summary>
    private static Task StoppedAsync(LogCapture capture, string vehicle) =>
        EndedAsync(capture, vehicle, $"Export of {vehicle} stopped: the client left");

    /// <summary>The export ended, whether its client left or the kernel's and the client's buffers took the whole zip.</summary>
    private static Task EndedAsync(LogCapture capture, string vehicle) =>
        EndedAsync(capture, vehicle, $"Export of {vehicle} stopped: the client left", $"Export of {vehicle} finished");

    private static async Task EndedAsync(LogCapture capture, string vehicle, params string[] starts)
    {
        try
        {
            await ImageRows.WaitForAsync(() => Task.FromResult(capture.Entries.Any(e =>
                starts.Any(start => e.Message.StartsWith(start, StringComparison.Ordinal)))), $"the export of {vehicle} to end");
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message} The app logged:\n{string.Join("\n", capture.Entries.Where(e => !e.Category.Contains("Routing") && !e.Category.Contains("StaticFiles")).TakeLast(30))}", e);
        }
    }

    [Fact]
    public async Task Export_ClientHangsUpMidZip_ServerStopsMakingEntries_AndTheUsersOnlyPlaceIsFreeAgain()
    {
        var cs = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        var capture = new LogCapture();
        await using var app = await StartAsync(cs, capture);
        using var client = await app.CreateUserClientAsync();
        var big = await VehicleAsync(cs, client, "Big", BigCount - 1);
        var small = await VehicleAsync(cs, client, "Small", 0);

        // size=1600 re-encodes every entry: the slow kind. The first bytes arrive, then the client hangs up (a reset, as a
        // closed browser tab or a dropped network gives; HttpClient would first try to drain the response).
        await HangUpAfterFirstBytesAsync(app, client, $"api/vehicles/{big}/export?set=all&size=1600");

        // The server notices, stops and says so once the place is released.
        await StoppedAsync(capture, "Big");
        var made = Written(capture, "Big");
        Assert.True(made < BigCount, $"the server made {made} of {BigCount} entries for a client that had left");

        // The user's only place is free: the next export is not refused, and the first one makes nothing more meanwhile.
        using (var zip = await ExportTests.ZipAsync(client, $"api/vehicles/{small}/export?set=all&size=1600"))
            Assert.Equal(["01-exterior-front_3q_left.jpg", "photos.csv"], zip.Entries.Select(e => e.FullName));
        Assert.Equal(made, Written(capture, "Big"));
        Assert.Equal(1, Written(capture, "Small"));
    }

    [Fact]
    public async Task Export_OverTheUsersLimit_429WithRetryAfterAndTheReason_ThenAllowedOnceTheFirstEnds()
    {
        var cs = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        var capture = new LogCapture();
        await using var app = await StartAsync(cs, capture);
        using var client = await app.CreateUserClientAsync();
        var big = await VehicleAsync(cs, client, "Big", BigCount - 1);
        var small = await VehicleAsync(cs, client, "Small", 0);

        // One export held open: the client reads nothing, so the server waits on a full socket with the place taken; at
        // 1600 each of its 100 entries is re-encoded, so it is still running when the second export asks (at 2048 the
        // whole zip could fit in the socket buffers and end first).
        using (var held = await client.GetAsync($"api/vehicles/{big}/export?set=all&size=1600", HttpCompletionOption.ResponseHeadersRead, Ct))
        {
            Assert.Equal(HttpStatusCode.OK, held.StatusCode);

            var refused = await client.GetAsync($"api/vehicles/{small}/export", Ct);
            Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
            Assert.Equal(TimeSpan.FromSeconds(10), refused.Headers.RetryAfter?.Delta);
            var problem = await refused.Content.ReadFromJsonAsync<JsonElement>(Ct);
            Assert.Equal("1 of your exports are running already; try again when one has finished.", problem.GetProperty("detail").GetString());
        }

        await EndedAsync(capture, "Big");
        using var zip = await ExportTests.ZipAsync(client, $"api/vehicles/{small}/export");
        Assert.Equal(["01-exterior-front_3q_left.jpg", "photos.csv"], zip.Entries.Select(e => e.FullName));
    }

    [Fact]
    public async Task Export_WithTheS3Store_SameNamesAndCleanJpegs_StreamedFromTheBucket()
    {
        var s3 = await S3Server.GetAsync();
        var cs = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        var settings = s3.Settings(S3Server.NewBucket());
        settings["Processing:Workers"] = "0";
        await using var app = await TestApp.StartAsync(cs, settings);
        Assert.IsType<S3ImageStore>(app.Services.GetRequiredService<IImageStore>());
        using var client = await app.CreateUserClientAsync();
        var vehicle = await UploadTests.CreateVehicleAsync(client);
        var uploaded = await UploadTests.UploadAsync(client, vehicle, File("exif-samples__DSCN0010.jpg"), File("exif-samples__canon_hdr_YES.jpg"));
        await ExportTests.AnalysedAsync(cs, (uploaded[0].ImageId!.Value, "exterior.front"), (uploaded[1].ImageId!.Value, "exterior.front_3q_left"));

        foreach (var size in new[] { "2048", "1600", "original" })
        {
            using var zip = await ExportTests.ZipAsync(client, $"api/vehicles/{vehicle}/export?set=listing&size={size}");
            Assert.Equal(["01-exterior-front_3q_left.jpg", "02-exterior-front.jpg", "photos.csv"], zip.Entries.Select(e => e.FullName));
            foreach (var entry in zip.Entries.Where(e => e.FullName.EndsWith(".jpg", StringComparison.Ordinal)))
                ExportTests.AssertNothingPrivate($"{size}/{entry.FullName}", ExportTests.Bytes(entry));
            var rows = ExportTests.Csv(zip);
            Assert.Equal(3, rows.Count);
            Assert.All(rows.Skip(1), r => Assert.Equal("", r[^1])); // nothing missing
        }
    }
}
