namespace VehicleImages.Tests.TestHost;

/// <summary>A class fixture: one database and one running app per test class.</summary>
public class AppFixture : IAsyncLifetime
{
    private TestApp? _app;

    public TestApp App => _app ?? throw new InvalidOperationException("The app has not started.");

    /// <summary>
    /// By default a pages-and-API instance (no workers), so tests of ingest and pages see photos as
    /// uploaded; processing tests start workers through their own fixture.
    /// </summary>
    protected virtual IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Processing:Workers"] = "0" };

    public async ValueTask InitializeAsync()
    {
        var server = await PostgresServer.GetAsync();
        _app = await TestApp.StartAsync(await server.CreateDatabaseAsync(), Settings);
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
            await _app.DisposeAsync();
    }
}
