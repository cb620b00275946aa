using Bunit;
using Microsoft.Extensions.DependencyInjection;
using VehicleImages.Core.Analysis;
using VehicleImages.Tests.TestHost;
using VehicleImages.Web.Components.Shared;

namespace VehicleImages.Tests.Components;

/// <summary>The gallery and categorizer say why photos wait while no analysis provider is available.</summary>
public sealed class AnalysisWaitingNoticeTests : MudTestContext
{
    [Fact]
    public async Task Notice_NoProviderAvailable_SaysSinceWhenAndGoesAwayOnRecovery()
    {
        var cs = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        await using var core = CoreServices.Build(cs, new Dictionary<string, string?>
        {
            ["Analysis:Provider"] = "OpenAI", ["Analysis:Endpoint"] = "http://127.0.0.1:9/v1",
        });
        await ImageRows.ScalarAsync<int>(cs, """
            INSERT INTO analysis_providers (name, model, state, since, last_error)
            VALUES ('OpenAI', 'gpt-4o-mini', 'unavailable', '2026-11-25 14:02:00+00', 'could not reach the AI provider') RETURNING 1
            """);
        Services.AddSingleton(core.Services.GetRequiredService<IAnalysisGate>());
        var health = core.Services.GetRequiredService<ProviderHealth>();
        Services.AddSingleton(health);

        var cut = Render<AnalysisWaitingNotice>();

        cut.WaitForAssertion(() => Assert.Contains("Waiting: the analysis service is unavailable since 2026-11-25 14:02 UTC",
            cut.Find("#analysis-waiting").TextContent), TimeSpan.FromSeconds(30));
        await ImageRows.ScalarAsync<int>(cs, "UPDATE analysis_providers SET state = 'available' RETURNING 1");
        await health.RefreshAsync(Xunit.TestContext.Current.CancellationToken);
        cut.WaitForAssertion(() => Assert.Empty(cut.FindAll("#analysis-waiting")), TimeSpan.FromSeconds(30));
    }
}
