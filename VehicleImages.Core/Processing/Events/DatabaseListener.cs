using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using VehicleImages.Core.Processing.Workers;

namespace VehicleImages.Core.Processing.Events;

/// <summary>
/// One LISTEN connection per instance, outside the pool. It reconnects with backoff when the
/// database goes away (a restart, a network cut) and, once back, wakes the claimer and tells
/// subscribers to catch up, since notifications sent meanwhile are lost. The claimer's fallback
/// poll runs regardless, so a dead listener only slows pickup, never loses work.
/// </summary>
public sealed class DatabaseListener(
    DatabaseConnection database, WakeSignal wake, ProcessingEvents events, ILogger<DatabaseListener> logger) : BackgroundService
{
    public bool Connected { get; private set; }

    /// <summary>The last reason the connection failed, for the logs and for whoever asks why it is down.</summary>
    public string? LastError { get; private set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var builder = new NpgsqlConnectionStringBuilder(database.ConnectionString) { Pooling = false, KeepAlive = 15 };
        var backoff = TimeSpan.FromMilliseconds(250);
        var first = true;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = new NpgsqlConnection(builder.ConnectionString);
                await connection.OpenAsync(stoppingToken);
                connection.Notification += (_, e) =>
                {
                    if (e.Channel == ProcessingChannels.Jobs)
                        wake.Set();
                    else
                        events.Publish(e.Channel, e.Payload);
                };
                await using (var listen = new NpgsqlCommand(
                    $"LISTEN {ProcessingChannels.Jobs}; LISTEN {ProcessingChannels.ImageStatus}; LISTEN {ProcessingChannels.AdminAlert}; LISTEN {ProcessingChannels.ProviderState}; LISTEN {ProcessingChannels.AccountRoles};", connection))
                    await listen.ExecuteNonQueryAsync(stoppingToken);

                Connected = true;
                backoff = TimeSpan.FromMilliseconds(250);
                wake.Set();
                if (!first)
                {
                    logger.LogInformation("Listening for database notifications again");
                    events.PublishReconnected();
                }

                first = false;
                while (true)
                    await connection.WaitAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                Connected = false;
                LastError = e.Message;
                logger.LogWarning("Database notifications lost ({Message}); reconnecting in {Delay}", e.Message, backoff);
                try
                {
                    await Task.Delay(backoff, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    break;
                }

                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.FromSeconds(10).Ticks));
            }
        }

        Connected = false;
    }
}
