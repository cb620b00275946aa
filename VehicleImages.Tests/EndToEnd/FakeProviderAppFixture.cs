using VehicleImages.Tests.TestHost;

namespace VehicleImages.Tests.EndToEnd;

/// <summary>An instance analysing through a fake OpenAI-compatible server, for live browser flows.</summary>
public sealed class FakeProviderAppFixture : IAsyncLifetime
{
    public FakeOpenAiServer Fake { get; private set; } = null!;
    public TestApp App { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Fake = await FakeOpenAiServer.StartAsync();
        Fake.Script = (_, _) => FakeMode.Slow; // slow enough to see Processing
        App = await TestApp.StartAsync(await (await PostgresServer.GetAsync()).CreateDatabaseAsync(), new Dictionary<string, string?>
        {
            ["Analysis:Provider"] = "OpenAI",
            ["Analysis:Endpoint"] = Fake.Endpoint.ToString(),
            ["Analysis:Model"] = "fake-vision",
            ["Analysis:RequestsPerMinute"] = "6000",
        });
    }

    public async ValueTask DisposeAsync()
    {
        await App.DisposeAsync();
        await Fake.DisposeAsync();
    }
}
