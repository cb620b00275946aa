using System.Threading.Channels;
using Microsoft.AspNetCore.SignalR;
using VehicleImages.Core.Processing;
using VehicleImages.Web.Hubs;

namespace VehicleImages.Web.Live;

/// <summary>
/// In-process subscriptions for Blazor components (eShop's OrdersRefreshOnStatusChange pattern): a
/// component subscribes, gets batches of status changes, and disposes its subscription with itself.
/// </summary>
public sealed class LiveNotifier
{
    private readonly Lock _gate = new();
    private readonly List<Func<IReadOnlyList<ImageStatusEvent>, Task>> _status = [];
    private readonly List<Func<AlertEvent, Task>> _alerts = [];

    public IDisposable OnStatus(Func<IReadOnlyList<ImageStatusEvent>, Task> handler) => Add(_status, handler);

    public IDisposable OnAlert(Func<AlertEvent, Task> handler) => Add(_alerts, handler);

    internal IReadOnlyList<Func<IReadOnlyList<ImageStatusEvent>, Task>> StatusHandlers
    {
        get { lock (_gate) return [.. _status]; }
    }

    internal IReadOnlyList<Func<AlertEvent, Task>> AlertHandlers
    {
        get { lock (_gate) return [.. _alerts]; }
    }

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
/// to in-process subscribers. The first change after a quiet spell goes out at once; after a batch,
/// changes gather for a short window and only the latest per image is sent, so a burst of hundreds of
/// photos becomes a few batches a second, not a flood.
/// </summary>
public sealed class LiveRelay(ProcessingEvents events, IHubContext<ProcessingHub> hub, LiveNotifier notifier, ILogger<LiveRelay> logger)
    : BackgroundService
{
    public static readonly TimeSpan Window = TimeSpan.FromMilliseconds(150);

    private readonly Channel<ImageStatusEvent> _pending = Channel.CreateUnbounded<ImageStatusEvent>(new UnboundedChannelOptions { SingleReader = true });

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        events.ImageStatusChanged += Enqueue;
        events.AlertRaised += OnAlert;
        events.Reconnected += OnReconnected;
        try
        {
            var reader = _pending.Reader;
            while (await reader.WaitToReadAsync(stoppingToken))
            {
                var latest = new Dictionary<Guid, ImageStatusEvent>();
                while (reader.TryRead(out var e))
                    latest[e.ImageId] = e;
                await SendAsync([.. latest.Values], stoppingToken);
                await Task.Delay(Window, stoppingToken);
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

    private void Enqueue(ImageStatusEvent e) => _pending.Writer.TryWrite(e);

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

        await NotifyAsync(notifier.StatusHandlers, h => h(batch));
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

        await NotifyAsync(notifier.AlertHandlers, h => h(alert));
    }

    /// <summary>Notifications may have been missed: an empty batch tells subscribers to reload.</summary>
    private void OnReconnected() => _ = NotifyAsync(notifier.StatusHandlers, h => h([]));

    private async Task NotifyAsync<T>(IReadOnlyList<T> handlers, Func<T, Task> call)
    {
        foreach (var handler in handlers)
        {
            try
            {
                await call(handler);
            }
            catch (Exception ex)
            {
                // One broken subscriber (a closed circuit) must not stop the others.
                logger.LogDebug(ex, "A live subscriber failed");
            }
        }
    }
}
