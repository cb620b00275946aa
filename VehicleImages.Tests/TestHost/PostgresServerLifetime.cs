[assembly: AssemblyFixture(typeof(VehicleImages.Tests.TestHost.PostgresServerLifetime))]

namespace VehicleImages.Tests.TestHost;

/// <summary>Stops the throwaway cluster and the shared S3 server when the run ends.</summary>
public sealed class PostgresServerLifetime : IAsyncDisposable
{
    public async ValueTask DisposeAsync()
    {
        await S3Server.StopSharedAsync();
        await PostgresServer.StopAsync();
    }
}
