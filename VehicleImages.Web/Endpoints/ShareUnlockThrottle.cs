using System.Collections.Concurrent;
using System.Net;
using VehicleImages.Web.Limits;

namespace VehicleImages.Web.Endpoints;

/// <summary>
/// Wrong share passwords, counted per client address (never per share: a stranger guessing cannot lock the real recipient
/// out, who comes from another address). <see cref="MaxFailures"/> wrong answers within <see cref="Window"/> close that
/// address's password form for the rest of the window (429 with Retry-After). In memory per instance, like the rate limits.
/// </summary>
public sealed class ShareUnlockThrottle(TimeProvider time)
{
    public const int MaxFailures = 5;
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(5);
    private const int PruneAbove = 50_000;

    private readonly ConcurrentDictionary<string, Entry> _entries = new();

    private sealed class Entry
    {
        public int Failures;
        public DateTimeOffset WindowStart;
    }

    /// <summary>How long this address must wait before trying again; null when it may try now.</summary>
    public TimeSpan? Wait(IPAddress? client)
    {
        if (!_entries.TryGetValue(RateLimiting.ClientKey(client), out var entry))
            return null;
        var now = time.GetUtcNow();
        lock (entry)
        {
            var end = entry.WindowStart + Window;
            return entry.Failures >= MaxFailures && end > now ? end - now : null;
        }
    }

    public void Failed(IPAddress? client)
    {
        var now = time.GetUtcNow();
        var entry = _entries.GetOrAdd(RateLimiting.ClientKey(client), _ => new Entry { WindowStart = now });
        lock (entry)
        {
            if (now - entry.WindowStart > Window)
                (entry.Failures, entry.WindowStart) = (0, now);
            entry.Failures++;
        }
        if (_entries.Count > PruneAbove)
            foreach (var (key, e) in _entries)
                lock (e)
                    if (now - e.WindowStart > Window)
                        _entries.TryRemove(key, out _);
    }
}
