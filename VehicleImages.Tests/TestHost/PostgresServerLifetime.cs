[assembly: AssemblyFixture(typeof(VehicleImages.Tests.TestHost.PostgresServerLifetime))]

namespace VehicleImages.Tests.TestHost;

/// <summary>Stops the throwaway cluster when the run ends.</summary>
public sealed class PostgresServerLifetime : IAsyncDisposable
{
    public async ValueTask DisposeAsync() => await PostgresServer.StopAsync();
}
