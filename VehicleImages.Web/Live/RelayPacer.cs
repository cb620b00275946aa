using System.Threading.Channels;
using Microsoft.AspNetCore.SignalR;
using VehicleImages.Core.Processing;
using VehicleImages.Web.Hubs;
using VehicleImages.Core.Processing.Events;
using VehicleImages.Core.Processing.Status;

namespace VehicleImages.Web.Live;

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
