using System.Collections.Concurrent;
using Bunit;
using Bunit.TestDoubles;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using VehicleImages.Core.Accounts;
using VehicleImages.Core.Processing;
using VehicleImages.Tests.TestHost;
using VehicleImages.Web.Components.Shared;
using VehicleImages.Web.Live;
using VehicleImages.Core.Processing.Status;

namespace VehicleImages.Tests.Components;

public sealed class LiveSubscriptionTests : MudTestContext
{
    private readonly LiveNotifier _notifier = new(NullLogger<LiveNotifier>.Instance);
    private readonly ConcurrentQueue<IReadOnlyList<ImageStatusEvent>> _heard = new();
    private readonly BunitAuthorizationContext _auth;

    public LiveSubscriptionTests()
    {
        Services.AddSingleton(_notifier);
        _auth = AddAuthorization();
        _auth.SetAuthorized("owner@example.test");
        SetRendererInfo(new RendererInfo("Server", isInteractive: true));
    }

    private IRenderedComponent<LiveSubscription> Follow(Guid? vehicleId) =>
        Render<LiveSubscription>(p => p
            .Add(s => s.VehicleId, vehicleId)
            .Add(s => s.OnStatus, batch => _heard.Enqueue(batch)));

    private static ImageStatusEvent Event(Guid vehicleId) => new(Guid.NewGuid(), vehicleId, Guid.NewGuid(), "complete", 1, null);

    [Fact]
    public async Task LiveSubscription_OneVehicle_HearsThatVehicleOnly()
    {
        var (mine, other) = (Guid.NewGuid(), Guid.NewGuid());
        Follow(mine);
        var e = Event(mine);

        await _notifier.PublishStatusAsync([Event(other)]);
        await _notifier.PublishStatusAsync([e, Event(other)]);

        Assert.Equal([e], Assert.Single(_heard));
    }

    [Fact]
    public async Task LiveSubscription_AnotherVehicleHandedIn_FollowsTheNewOneOnly()
    {
        var (first, second) = (Guid.NewGuid(), Guid.NewGuid());
        var subscription = Follow(first);

        subscription.Render(p => p.Add(s => s.VehicleId, second));
        await _notifier.PublishStatusAsync([Event(first)]);
        await _notifier.PublishStatusAsync([Event(second)]);

        Assert.Equal(second, Assert.Single(Assert.Single(_heard)).VehicleId);
    }

    [Fact]
    public async Task LiveSubscription_EveryVehicle_NotHeardByAnOwner()
    {
        Follow(null);

        await _notifier.PublishStatusAsync([Event(Guid.NewGuid())]);

        Assert.Empty(_heard); // a page that forgot its vehicle does not hear everyone's photos
    }

    [Fact]
    public async Task LiveSubscription_EveryVehicle_HeardByAnAdmin()
    {
        _auth.SetRoles(Roles.Admin);
        Follow(null);

        await _notifier.PublishStatusAsync([Event(Guid.NewGuid())]);
        await _notifier.PublishStatusAsync([Event(Guid.NewGuid())]);

        Assert.Equal(2, _heard.Count);
    }

    [Fact]
    public async Task LiveSubscription_Disposed_EndsItsSubscription()
    {
        var vehicle = Guid.NewGuid();
        var subscription = Follow(vehicle);

        await subscription.InvokeAsync(() => DisposeComponentsAsync());
        await _notifier.PublishStatusAsync([Event(vehicle)]);

        Assert.Empty(_heard);
    }

    [Fact]
    public async Task LiveSubscription_Prerendering_DoesNotSubscribe()
    {
        SetRendererInfo(new RendererInfo("Static", isInteractive: false));
        var vehicle = Guid.NewGuid();
        Follow(vehicle);

        await _notifier.PublishStatusAsync([Event(vehicle)]);

        Assert.Empty(_heard);
    }
}
