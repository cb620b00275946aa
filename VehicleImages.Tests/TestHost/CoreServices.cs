using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using VehicleImages.Core;
using VehicleImages.Core.Data;

namespace VehicleImages.Tests.TestHost;

/// <summary>
/// The real Core services on a database of the test's own, built but never started (no workers, no
/// listener): what bUnit tests hand to pages that read through ImageService and VehicleService.
/// </summary>
public sealed class CoreServices : IAsyncDisposable
{
    private readonly IHost _host;
    private readonly string _storage;

    private CoreServices(IHost host, string storage)
    {
        _host = host;
        _storage = storage;
    }

    public IServiceProvider Services => _host.Services;

    public static CoreServices Build(string connectionString, params IInterceptor[] interceptors) =>
        Build(connectionString, new Dictionary<string, string?>(), interceptors);

    /// <summary>The same, with settings of the test's own (e.g. an OpenAI provider).</summary>
    public static CoreServices Build(string connectionString, IReadOnlyDictionary<string, string?> settings, params IInterceptor[] interceptors)
    {
        var storage = Directory.CreateTempSubdirectory("vi-core-").FullName;
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>(settings)
        {
            ["ConnectionStrings:Default"] = connectionString,
            ["Storage:Root"] = storage,
        });
        builder.AddVehicleImagesCore();
        builder.Services.ConfigureDbContext<VehicleImagesDbContext>(o => o.AddInterceptors(interceptors), ServiceLifetime.Singleton);
        return new CoreServices(builder.Build(), storage);
    }

    public async ValueTask DisposeAsync()
    {
        if (_host is IAsyncDisposable host)
            await host.DisposeAsync();
        else
            _host.Dispose();
        try { Directory.Delete(_storage, recursive: true); }
        catch (IOException) { /* a leftover temp folder does no harm */ }
    }
}
