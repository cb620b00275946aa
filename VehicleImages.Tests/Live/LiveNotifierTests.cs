using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using VehicleImages.Core.Processing;
using VehicleImages.Tests.TestHost;
using VehicleImages.Web.Hubs;
using VehicleImages.Web.Live;
using VehicleImages.Core.Processing.Events;
using VehicleImages.Core.Processing.Status;

namespace VehicleImages.Tests.Live;

public sealed class LiveNotifierTests
{
    private static readonly Guid VehicleA = Guid.NewGuid(), VehicleB = Guid.NewGuid(), VehicleC = Guid.NewGuid();

    private static ImageStatusEvent Event(Guid vehicleId, string status = "processing") =>
        new(Guid.NewGuid(), vehicleId, Guid.NewGuid(), status, 1, null);

    private static LiveNotifier Notifier() => new(NullLogger<LiveNotifier>.Instance);

    /// <summary>A subscriber that keeps every batch it is handed.</summary>
    private sealed class Ear
    {
        public ConcurrentQueue<IReadOnlyList<ImageStatusEvent>> Batches { get; } = new();

        public Task Hear(IReadOnlyList<ImageStatusEvent> batch)
        {
            Batches.Enqueue(batch);
            return Task.CompletedTask;
        }
    }

    [Fact]
    public async Task Notifier_BatchOfSeveralVehicles_EachVehiclesSubscribersGetOnlyItsEvents()
    {
        var notifier = Notifier();
        var (a, anotherA, b, c, every) = (new Ear(), new Ear(), new Ear(), new Ear(), new Ear());
        notifier.OnStatus(VehicleA, a.Hear);
        notifier.OnStatus(VehicleA, anotherA.Hear); // the same vehicle open in two tabs
        notifier.OnStatus(VehicleB, b.Hear);
        notifier.OnStatus(VehicleC, c.Hear);
        notifier.OnAnyStatus(every.Hear);
        var (a1, b1, a2, nobodys) = (Event(VehicleA), Event(VehicleB), Event(VehicleA, "complete"), Event(Guid.NewGuid()));

        await notifier.PublishStatusAsync([a1, b1, a2, nobodys]);

        Assert.Equal([a1, a2], Assert.Single(a.Batches));
        Assert.Equal([a1, a2], Assert.Single(anotherA.Batches));
        Assert.Equal([b1], Assert.Single(b.Batches));
        Assert.Empty(c.Batches); // not called at all, not called with nothing
        Assert.Equal([a1, b1, a2, nobodys], Assert.Single(every.Batches));
    }

    [Fact]
    public async Task Notifier_EmptyBatch_GoesToEverySubscriberSoTheyReload()
    {
        var notifier = Notifier();
        var (a, b, every) = (new Ear(), new Ear(), new Ear());
        notifier.OnStatus(VehicleA, a.Hear);
        notifier.OnStatus(VehicleB, b.Hear);
        notifier.OnAnyStatus(every.Hear);

        await notifier.PublishStatusAsync([]);

        Assert.Empty(Assert.Single(a.Batches));
        Assert.Empty(Assert.Single(b.Batches));
        Assert.Empty(Assert.Single(every.Batches));
    }

    [Fact]
    public async Task Notifier_DisposedSubscription_HearsNothingMore()
    {
        var notifier = Notifier();
        var (gone, staying) = (new Ear(), new Ear());
        var subscription = notifier.OnStatus(VehicleA, gone.Hear);
        notifier.OnStatus(VehicleA, staying.Hear);

        subscription.Dispose();
        subscription.Dispose(); // twice is harmless
        await notifier.PublishStatusAsync([Event(VehicleA)]);
        await notifier.PublishStatusAsync([]);

        Assert.Empty(gone.Batches);
        Assert.Equal(2, staying.Batches.Count);
    }

    [Fact]
    public async Task Notifier_BrokenSubscriber_DoesNotStopTheOthers()
    {
        var notifier = Notifier();
        var heard = new Ear();
        notifier.OnStatus(VehicleA, _ => throw new ObjectDisposedException("circuit"));
        notifier.OnStatus(VehicleA, _ => Task.FromException(new InvalidOperationException("closed")));
        notifier.OnStatus(VehicleA, heard.Hear);

        await notifier.PublishStatusAsync([Event(VehicleA)]);

        Assert.Single(heard.Batches);
    }

    [Fact]
    public async Task Relay_DatabaseAnnouncements_ReachOnlyTheirVehiclesSubscribersAndAReconnectReachesAll()
    {
        await using var services = new ServiceCollection().AddLogging().AddSignalR().Services.BuildServiceProvider();
        var events = new ProcessingEvents();
        var notifier = Notifier();
        var relay = new LiveRelay(events, services.GetRequiredService<IHubContext<ProcessingHub>>(), notifier, NullLogger<LiveRelay>.Instance);
        var (a, b) = (new Ear(), new Ear());
        notifier.OnStatus(VehicleA, a.Hear);
        notifier.OnStatus(VehicleB, b.Hear);
        await relay.StartAsync(TestContext.Current.CancellationToken);
        try
        {
            var forA = Event(VehicleA, "complete");
            events.Publish(ProcessingChannels.ImageStatus, JsonSerializer.Serialize(forA, JsonSerializerOptions.Web));
            await ImageRows.WaitForAsync(() => Task.FromResult(!a.Batches.IsEmpty), "vehicle A's subscriber to hear its photo");
            Assert.Equal([forA], Assert.Single(a.Batches));

            events.PublishReconnected();
            await ImageRows.WaitForAsync(() => Task.FromResult(a.Batches.Count == 2 && !b.Batches.IsEmpty), "every subscriber to hear the reconnect");
            Assert.Empty(a.Batches.Last());
            Assert.Empty(Assert.Single(b.Batches)); // the reconnect, never A's photo
        }
        finally
        {
            await relay.StopAsync(CancellationToken.None);
        }
    }
}
