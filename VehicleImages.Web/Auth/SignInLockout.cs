using System.Collections.Concurrent;
using System.Net;
using VehicleImages.Web.Limits;

namespace VehicleImages.Web.Auth;

/// <summary>
/// Failed sign-ins lock an account only for the client address they came from. Identity's own lockout
/// counts per account, so a stranger who knows an email address could keep its owner out with ten wrong
/// passwords a few minutes; here the stranger locks only themselves, and the owner, from their own
/// address, signs in as usual. Together with the per-address sign-in rate limit, one address gets at
/// most <see cref="MaxFailures"/> guesses at an account per <see cref="LockDuration"/>. Kept in memory
/// on each instance, like the rate limits (ADR 008). Unknown accounts count the same, so the answers do
/// not tell which accounts exist.
/// </summary>
public sealed class SignInLockout(TimeProvider time)
{
    public const int MaxFailures = 10;
    public static readonly TimeSpan LockDuration = TimeSpan.FromMinutes(5);
    public const string LockedMessage = "Too many failed attempts from your address; try again in a few minutes.";

    /// <summary>Past this many tracked pairs, stale ones are dropped, so a flood of addresses cannot grow memory without end.</summary>
    private const int PruneAbove = 50_000;

    private readonly ConcurrentDictionary<(string Account, string Client), Entry> _entries = new();

    private sealed class Entry
    {
        public int Failures;
        public DateTimeOffset LastFailure;
        public DateTimeOffset LockedUntil;
    }

    public bool IsLockedOut(string account, IPAddress? client) =>
        _entries.TryGetValue(Key(account, client), out var entry) && Locked(entry, time.GetUtcNow());

    public void Failed(string account, IPAddress? client)
    {
        var now = time.GetUtcNow();
        var entry = _entries.GetOrAdd(Key(account, client), _ => new Entry());
        lock (entry)
        {
            // Failures spaced further apart than the lock duration start the count again.
            if (now - entry.LastFailure > LockDuration)
                entry.Failures = 0;
            entry.LastFailure = now;
            if (++entry.Failures >= MaxFailures)
            {
                entry.LockedUntil = now + LockDuration;
                entry.Failures = 0;
            }
        }

        if (_entries.Count > PruneAbove)
            Prune(now);
    }

    public void Succeeded(string account, IPAddress? client) => _entries.TryRemove(Key(account, client), out _);

    private static bool Locked(Entry entry, DateTimeOffset now)
    {
        lock (entry)
            return entry.LockedUntil > now;
    }

    private void Prune(DateTimeOffset now)
    {
        foreach (var (key, entry) in _entries)
            if (!Locked(entry, now) && now - entry.LastFailure > LockDuration)
                _entries.TryRemove(key, out _);
    }

    private static (string, string) Key(string account, IPAddress? client) =>
        (account.Trim().ToUpperInvariant(), RateLimiting.ClientKey(client));
}
