using System.Threading.Channels;
using Microsoft.AspNetCore.SignalR;
using VehicleImages.Core.Processing;
using VehicleImages.Web.Hubs;
using VehicleImages.Core.Processing.Events;
using VehicleImages.Core.Processing.Status;

namespace VehicleImages.Web.Live;

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
