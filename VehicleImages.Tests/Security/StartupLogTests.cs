using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using VehicleImages.Core.Data;
using VehicleImages.Tests.Integration;
using VehicleImages.Tests.TestHost;

namespace VehicleImages.Tests.Security;

public sealed class StartupLogTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task FirstStart_FreshDatabaseAndFirstUse_LogsNoErrorAndNoPerRequestHttpClientLines()
    {
        var capture = new LogCapture();
        var cs = await (await PostgresServer.GetAsync()).CreateEmptyDatabaseAsync();

        // The app as shipped (appsettings.json, workers on, the Local analyzer), on a database with nothing in it.
        await using (var app = await TestApp.StartAsync(cs, services: s => s.AddSingleton<ILoggerProvider>(capture)))
        {
            using var client = await app.CreateUserClientAsync();
            var vehicle = await UploadTests.CreateVehicleAsync(client);
            var id = (await UploadTests.UploadAsync(client, vehicle, ("car.jpg", File.ReadAllBytes(TestData.Image("exif-samples__Canon_40D.jpg")))))
                .Single().ImageId!.Value;
            await ImageRows.WaitForAsync(async () => await ImageRows.CountAsync(cs, "id = @id AND processing_status = 'complete'", ("id", id)) == 1,
                "the photo to be analyzed");
            (await client.GetAsync("account/login", Ct)).EnsureSuccessStatusCode();
            // An outgoing call through the app's own HttpClientFactory, as the webhook and the providers make.
            using var outgoing = app.Services.GetRequiredService<IHttpClientFactory>().CreateClient("probe");
            (await outgoing.GetAsync(new Uri(app.BaseAddress, "health"), Ct)).EnsureSuccessStatusCode();
        }

        var entries = capture.Entries.ToList();
        // Information is on (as shipped), so the absence of HttpClient lines below is the filter's doing.
        Assert.Contains(entries, e => e.Level == LogLevel.Information && e.Category == typeof(DatabaseMigrator).FullName);
        Assert.True(!entries.Any(e => e.Level >= LogLevel.Error),
            "error entries: " + string.Join("\n", entries.Where(e => e.Level >= LogLevel.Error)));
        Assert.True(!entries.Any(e => e.Category.StartsWith("System.Net.Http.HttpClient", StringComparison.Ordinal) && e.Level >= LogLevel.Information),
            "HttpClient entries: " + string.Join("\n", entries.Where(e => e.Category.StartsWith("System.Net.Http.HttpClient", StringComparison.Ordinal))));
    }
}
