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

/// <summary>
/// Relays what the database announced (from whichever instance did the work) to SignalR clients and
/// to in-process subscribers. Changes go out at once while they are few (<see cref="RelayPacer"/>: up to
/// three batches per three windows, so a photo's pending → processing pair never waits a window); in a
/// burst they gather for a window and only the latest per image is sent, so hundreds of photos become
/// a few batches a second, not a flood. Pages patch cards from the payload, so a batch costs the
/// database nothing either way.
/// </summary>
public sealed class LiveRelay(ProcessingEvents events, IHubContext<ProcessingHub> hub, LiveNotifier notifier, ILogger<LiveRelay> logger)
    : BackgroundService
{
    public static readonly TimeSpan Window = TimeSpan.FromMilliseconds(150);

    /// <summary>Each change with the moment it was heard, for the live-event latency metric.</summary>
    private readonly Channel<(ImageStatusEvent Event, long HeardAt)> _pending =
        Channel.CreateUnbounded<(ImageStatusEvent, long)>(new UnboundedChannelOptions { SingleReader = true });

    /// <summary>Subscribes before the host goes on, so no announcement made after start-up is missed.</summary>
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        events.ImageStatusChanged += Enqueue;
        events.AlertRaised += OnAlert;
        events.Reconnected += OnReconnected;
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            var reader = _pending.Reader;
            var pacer = new RelayPacer(Window);
            while (await reader.WaitToReadAsync(stoppingToken))
            {
                if (pacer.WaitBeforeSending(TimeProvider.System.GetTimestamp()) is { } wait && wait > TimeSpan.Zero)
                    await Task.Delay(wait, stoppingToken);
                var latest = new Dictionary<Guid, ImageStatusEvent>();
                var heard = new List<long>();
                while (reader.TryRead(out var e))
                {
                    latest[e.Event.ImageId] = e.Event;
                    heard.Add(e.HeardAt);
                }
                pacer.Sent(TimeProvider.System.GetTimestamp());
                await SendAsync([.. latest.Values], stoppingToken);
                foreach (var at in heard)
                    Core.Observability.Telemetry.LiveEventLatency.Record(TimeProvider.System.GetElapsedTime(at).TotalSeconds);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            events.ImageStatusChanged -= Enqueue;
            events.AlertRaised -= OnAlert;
            events.Reconnected -= OnReconnected;
        }
    }

    private void Enqueue(ImageStatusEvent e) => _pending.Writer.TryWrite((e, TimeProvider.System.GetTimestamp()));

    private async Task SendAsync(IReadOnlyList<ImageStatusEvent> batch, CancellationToken cancellationToken)
    {
        foreach (var e in batch)
        {
            var message = new ImageStatusMessage(e.ImageId, e.VehicleId, e.Status, e.Attempts, e.Error);
            try
            {
                await hub.Clients.Groups(ProcessingHub.UserGroup(e.UserId), ProcessingHub.Admins)
                    .SendAsync("ImageStatusChanged", message, cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogWarning(ex, "Sending a status change to SignalR clients failed");
            }
        }

        await notifier.PublishStatusAsync(batch);
    }

    private void OnAlert(AlertEvent alert) => _ = RelayAlertAsync(alert);

    private async Task RelayAlertAsync(AlertEvent alert)
    {
        try
        {
            await hub.Clients.Group(ProcessingHub.Admins).SendAsync("AdminAlert", new AdminAlertMessage(alert.Id, alert.Kind, alert.Message, alert.ImageId));
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Sending an alert to SignalR clients failed");
        }

        await notifier.PublishAlertAsync(alert);
    }

    /// <summary>Notifications may have been missed: an empty batch tells subscribers to reload.</summary>
    private void OnReconnected() => _ = notifier.PublishStatusAsync([]);
}

/// <summary>
/// When the relay may send its next batch: at once while fewer than <see cref="Burst"/> batches went out
/// in the last <see cref="Burst"/> windows, otherwise when the oldest of them leaves that span. Over a
/// sustained burst that is one batch per window, as a fixed window gives; a lone change, or a photo's
/// pending and processing a few milliseconds apart, goes out without waiting.
/// </summary>
public sealed class RelayPacer(TimeSpan window)
{
    public const int Burst = 3;

    private readonly Queue<long> _sent = new();

    /// <summary>How long to wait, at <paramref name="now"/> (a <see cref="TimeProvider"/> timestamp), before the next batch.</summary>
    public TimeSpan WaitBeforeSending(long now)
    {
        var span = window * Burst;
        while (_sent.Count > 0 && Elapsed(_sent.Peek(), now) >= span)
            _sent.Dequeue();
        return _sent.Count < Burst ? TimeSpan.Zero : span - Elapsed(_sent.Peek(), now);
    }

    public void Sent(long now)
    {
        _sent.Enqueue(now);
        while (_sent.Count > Burst)
            _sent.Dequeue();
    }

    private static TimeSpan Elapsed(long from, long to) => TimeProvider.System.GetElapsedTime(from, to);
}
