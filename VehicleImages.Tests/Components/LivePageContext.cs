using System.Security.Claims;
using Bunit;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using VehicleImages.Core.Images;
using VehicleImages.Core.Processing;
using VehicleImages.Core.Vehicles;
using VehicleImages.Tests.TestHost;
using VehicleImages.Web.Live;
using VehicleImages.Core.Processing.Status;

namespace VehicleImages.Tests.Components;

/// <summary>
/// A bUnit context for pages that follow live status: the real ImageService and VehicleService on a
/// database of the test's own holding one owner's vehicle with two photos being processed, every EF Core
/// command counted (<see cref="QueryCounter"/>), and a <see cref="LiveNotifier"/> the test publishes to
/// as the relay would.
/// </summary>
public abstract class LivePageContext : MudTestContext, IAsyncLifetime
{
    /// <summary>How long to wait for a render that needs the database (a shared machine can be slow).</summary>
    protected static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private CoreServices? _core;

    protected QueryCounter Queries { get; } = new();
    protected LiveNotifier Notifier { get; } = new(NullLogger<LiveNotifier>.Instance);
    protected string Database { get; private set; } = "";
    protected Guid Owner { get; private set; }
    protected Guid Vehicle { get; private set; }

    /// <summary>IMG_1.jpg and IMG_2.jpg, in the order the list shows them.</summary>
    protected Guid[] Photos { get; private set; } = [];

    public async ValueTask InitializeAsync()
    {
        Database = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        Photos = await ImageRows.InsertAsync(Database, 2, ProcessingStatus.Processing);
        Vehicle = await ImageRows.ScalarAsync<Guid>(Database, "SELECT vehicle_id FROM vehicle_images WHERE id = @id", ("id", Photos[0]));
        Owner = await ImageRows.ScalarAsync<Guid>(Database, "SELECT user_id FROM vehicle_images WHERE id = @id", ("id", Photos[0]));

        _core = CoreServices.Build(Database, Queries);
        Services.AddSingleton(_core.Services.GetRequiredService<ImageService>());
        Services.AddSingleton(_core.Services.GetRequiredService<VehicleService>());
        Services.AddSingleton(_core.Services.GetRequiredService<VehicleImages.Core.Privacy.PrivacyBoxService>());
        Services.AddSingleton(_core.Services.GetRequiredService<VehicleImages.Core.Listings.ListingService>());
        Services.AddSingleton(_core.Services.GetRequiredService<VehicleImages.Core.Analysis.IAnalysisGate>());
        Services.AddSingleton(_core.Services.GetRequiredService<VehicleImages.Core.Analysis.ProviderHealth>());
        Services.AddSingleton(Notifier);
        var auth = AddAuthorization();
        auth.SetAuthorized("owner@example.test");
        auth.SetClaims(new Claim(ClaimTypes.NameIdentifier, Owner.ToString()));
        SetRendererInfo(new RendererInfo("Server", isInteractive: true));
        JSInterop.SetupModule("./js/uploader/uploader.js");
        JSInterop.SetupModule("./js/privacy-boxes.js");
    }

    protected ImageStatusEvent Event(Guid imageId, string status, int attempts = 1, string? error = null) =>
        new(imageId, Vehicle, Owner, status, attempts, error);

    /// <summary>A photo that reached the database some other way (another tab, another instance).</summary>
    protected Task<Guid> InsertPhotoAsync(string fileName, string status = ProcessingStatus.Pending) =>
        ImageRows.ScalarAsync<Guid>(Database, """
            INSERT INTO vehicle_images (id, vehicle_id, user_id, file_name, processing_status, taken_at)
            VALUES (gen_random_uuid(), @v, @u, @name, @status, '2024-01-16') RETURNING id
            """, ("v", Vehicle), ("u", Owner), ("name", fileName), ("status", status));

    protected override async ValueTask DisposeAsyncCore()
    {
        await base.DisposeAsyncCore();
        if (_core is not null)
            await _core.DisposeAsync();
    }
}
