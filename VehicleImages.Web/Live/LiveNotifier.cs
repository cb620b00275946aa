using System.Threading.Channels;
using Microsoft.AspNetCore.SignalR;
using VehicleImages.Core.Processing;
using VehicleImages.Web.Hubs;
using VehicleImages.Core.Processing.Events;
using VehicleImages.Core.Processing.Status;

namespace VehicleImages.Web.Live;

/// <summary>
/// In-process subscriptions for Blazor components, keyed by vehicle as eShop's
/// OrderStatusNotificationService keys by buyer: a batch of status changes is handed only to the
/// circuits showing one of its vehicles, and whole to the few that follow every vehicle (the admin
/// page), instead of every batch to every circuit for each to filter. Components subscribe through
/// <c>LiveSubscription</c>, which disposes the subscription with itself.
/// </summary>
public sealed class LiveNotifier(ILogger<LiveNotifier> logger)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<Guid, List<Func<IReadOnlyList<ImageStatusEvent>, Task>>> _byVehicle = [];
    private readonly List<Func<IReadOnlyList<ImageStatusEvent>, Task>> _everyVehicle = [];
    private readonly List<Func<AlertEvent, Task>> _alerts = [];

    /// <summary>Changes to one vehicle's photos (and empty batches, which mean "reload").</summary>
    public IDisposable OnStatus(Guid vehicleId, Func<IReadOnlyList<ImageStatusEvent>, Task> handler)
    {
        lock (_gate)
        {
            if (!_byVehicle.TryGetValue(vehicleId, out var handlers))
                _byVehicle[vehicleId] = handlers = [];
            handlers.Add(handler);
        }

        return new Subscription(() =>
        {
            lock (_gate)
            {
                // A vehicle nobody watches any more leaves no key behind.
                if (_byVehicle.TryGetValue(vehicleId, out var handlers) && handlers.Remove(handler) && handlers.Count == 0)
                    _byVehicle.Remove(vehicleId);
            }
        });
    }

    /// <summary>Changes to every vehicle's photos: for admins only, which the caller checks.</summary>
    public IDisposable OnAnyStatus(Func<IReadOnlyList<ImageStatusEvent>, Task> handler) => Add(_everyVehicle, handler);

    public IDisposable OnAlert(Func<AlertEvent, Task> handler) => Add(_alerts, handler);

    /// <summary>
    /// Hands each subscriber its share of a batch, looking up each event's vehicle once. An empty batch
    /// (the listener reconnected, so changes may have been missed) goes to every subscriber.
    /// </summary>
    public Task PublishStatusAsync(IReadOnlyList<ImageStatusEvent> batch)
    {
        var deliveries = new List<(Func<IReadOnlyList<ImageStatusEvent>, Task> Handler, IReadOnlyList<ImageStatusEvent> Events)>();
        lock (_gate)
        {
            if (batch.Count == 0)
            {
                foreach (var handlers in _byVehicle.Values)
                    deliveries.AddRange(handlers.Select(h => (h, batch)));
            }
            else
            {
                var shares = new Dictionary<Guid, List<ImageStatusEvent>>();
                foreach (var e in batch)
                {
                    if (!_byVehicle.ContainsKey(e.VehicleId))
                        continue;
                    if (!shares.TryGetValue(e.VehicleId, out var share))
                        shares[e.VehicleId] = share = [];
                    share.Add(e);
                }

                foreach (var (vehicleId, share) in shares)
                    deliveries.AddRange(_byVehicle[vehicleId].Select(h => (h, (IReadOnlyList<ImageStatusEvent>)share)));
            }

            deliveries.AddRange(_everyVehicle.Select(h => (h, batch)));
        }

        return DeliverAsync(deliveries);
    }

    public Task PublishAlertAsync(AlertEvent alert)
    {
        List<(Func<AlertEvent, Task>, AlertEvent)> deliveries;
        lock (_gate)
            deliveries = [.. _alerts.Select(h => (h, alert))];
        return DeliverAsync(deliveries);
    }

    /// <summary>
    /// All at once: each subscriber waits for its own circuit, so one busy circuit does not hold up the
    /// others, and one broken subscriber (a closed circuit) does not stop them.
    /// </summary>
    private Task DeliverAsync<T>(IEnumerable<(Func<T, Task> Handler, T Value)> deliveries) =>
        Task.WhenAll(deliveries.Select(async d =>
        {
            try
            {
                await d.Handler(d.Value);
            }
            catch (Exception ex)
            {
                logger.LogDebug(ex, "A live subscriber failed");
            }
        }));

    private Subscription Add<T>(List<T> list, T handler)
    {
        lock (_gate)
            list.Add(handler);
        return new Subscription(() =>
        {
            lock (_gate)
                list.Remove(handler);
        });
    }

    private sealed class Subscription(Action remove) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
                remove();
        }
    }
}
