using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace VehicleImages.Core.Sharing;

/// <summary>
/// Writes share page views counted in memory every few seconds: a popular link's visitors would otherwise queue on one
/// row's lock, one commit each. A crash loses at most the last few seconds of counts; the owner's list flushes first.
/// </summary>
public sealed class ShareViewFlusher(ShareService shares, ILogger<ShareViewFlusher> logger) : BackgroundService
{
    private static readonly TimeSpan Every = TimeSpan.FromSeconds(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Every);
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            try
            {
                await shares.FlushViewsAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning(e, "Share views could not be written; they are counted again from now");
            }
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        try
        {
            await shares.FlushViewsAsync(cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogWarning(e, "Share views could not be written at shutdown");
        }
    }
}
