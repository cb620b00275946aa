using Microsoft.Extensions.Logging;
using Npgsql;
using VehicleImages.Core.Alerts;
using VehicleImages.Core.Processing;
using static VehicleImages.Core.Images.ProcessingStatus;
using static VehicleImages.Core.Processing.ProviderStates;
using VehicleImages.Core.Processing.Events;
using VehicleImages.Core.Processing.Status;
using VehicleImages.Core.Processing.Workers;

namespace VehicleImages.Core.Analysis;

/// <summary>A provider's shared state as this instance last read it.</summary>
public sealed record ProviderStatus(string Name, string? Model, string State, DateTimeOffset Since, string? LastError, DateTimeOffset NextProbeAt)
{
    public bool IsAvailable => State == Available;
}

/// <summary>
/// The providers' state in PostgreSQL (analysis_providers), so that an outage one instance sees is
/// known to all, and the recovery too, without each instance spending attempts to find out. The
/// first instance whose probe finds the provider down marks it unavailable (one provider_unavailable
/// alert), gives back the attempts the outage already cost, and sets when it may be probed; from
/// then on one probe per Analysis:BreakSeconds, across all instances, tests it (whoever takes the
/// probe slot first), always with the app's own image. A probe that gets an answer marks it available
/// (one provider_recovered alert) and every claimer wakes. Changes are announced with NOTIFY provider_state.
/// </summary>
public sealed class ProviderHealth(NpgsqlDataSource db, AlertService alerts, WakeSignal wake, ProcessingEvents events,
    TimeProvider time, ILogger<ProviderHealth> logger)
{
    /// <summary>How far back failures of a provider count as the outage's own, when its attempts are given back.</summary>
    public static readonly TimeSpan RefundWindow = TimeSpan.FromMinutes(5);

    private static readonly TimeSpan RefreshEvery = TimeSpan.FromSeconds(1);

    private readonly Lock _gate = new();
    private Dictionary<string, ProviderStatus> _states = [];
    private long _refreshedTicks;
    private int _stale = 1;
    private bool _subscribed;

    /// <summary>Raised (on any thread) when a provider's state changed here or on another instance.</summary>
    public event Action? Changed;

    public IReadOnlyCollection<ProviderStatus> States
    {
        get { lock (_gate) return [.. _states.Values]; }
    }

    public ProviderStatus? this[string name]
    {
        get { lock (_gate) return _states.GetValueOrDefault(name); }
    }

    /// <summary>Makes sure every configured provider has a row (new ones start available), then reads them all.</summary>
    public async Task RegisterAsync(IEnumerable<ProviderSettings> providers, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_subscribed)
            {
                events.ProviderStateChanged += _ => Invalidate();
                events.Reconnected += Invalidate;
                _subscribed = true;
            }
        }

        foreach (var p in providers)
        {
            await using var cmd = db.CreateCommand($"""
                INSERT INTO analysis_providers (name, model, state) VALUES (@name, @model, '{Available}')
                ON CONFLICT (name) DO UPDATE SET model = EXCLUDED.model
                """);
            cmd.Parameters.AddWithValue("name", p.Name);
            cmd.Parameters.AddWithValue("model", p.Model);
            await cmd.ExecuteNonQueryAsync(cancellationToken);
        }

        await RefreshAsync(cancellationToken);
    }

    /// <summary>Reads the shared state again when it may have changed, at most once a second otherwise.</summary>
    public async Task RefreshIfStaleAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _stale) == 0 && time.GetTimestamp() - Interlocked.Read(ref _refreshedTicks) < RefreshEvery.TotalSeconds * time.TimestampFrequency)
            return;
        await RefreshAsync(cancellationToken);
    }

    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        Interlocked.Exchange(ref _stale, 0);
        var states = new Dictionary<string, ProviderStatus>();
        await using (var cmd = db.CreateCommand("SELECT name, model, state, since, last_error, next_probe_at FROM analysis_providers"))
        await using (var reader = await cmd.ExecuteReaderAsync(cancellationToken))
            while (await reader.ReadAsync(cancellationToken))
                states[reader.GetString(0)] = new ProviderStatus(reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1),
                    reader.GetString(2), reader.GetFieldValue<DateTimeOffset>(3), reader.IsDBNull(4) ? null : reader.GetString(4),
                    reader.GetFieldValue<DateTimeOffset>(5));
        bool changed;
        lock (_gate)
        {
            changed = states.Count != _states.Count || states.Any(s => !_states.TryGetValue(s.Key, out var old) || old.State != s.Value.State);
            _states = states;
        }

        Interlocked.Exchange(ref _refreshedTicks, time.GetTimestamp());
        if (changed)
            Changed?.Invoke();
    }

    /// <summary>
    /// A probe of this instance found the provider down. The first to report it marks the provider unavailable, gives
    /// back the attempts its outage cost photos, and alerts; later reports only keep the latest error.
    /// The flip and the give-back are two statements of one transaction: the give-back's snapshot,
    /// taken after the flip holds the provider's row, includes every outage failure that read the row
    /// before (ClaimStatements.FailAsync reads it FOR SHARE), and every later one waits for this commit
    /// and then spends nothing itself. In one statement both could miss each other.
    /// </summary>
    public async Task ReportOutageAsync(ProviderSettings provider, string error, TimeSpan breakDuration, CancellationToken cancellationToken)
    {
        long refunded = 0;
        bool flipped;
        await using (var connection = await db.OpenConnectionAsync(cancellationToken))
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            await using (var flip = new NpgsqlCommand($"""
                WITH flipped AS (
                    UPDATE analysis_providers
                    SET state = '{Unavailable}', since = now(), last_error = @error, next_probe_at = now() + @break, updated_at = now()
                    WHERE name = @name AND state = '{Available}'
                    RETURNING name),
                noted AS (
                    UPDATE analysis_providers SET last_error = @error, updated_at = now()
                    WHERE name = @name AND NOT EXISTS (SELECT 1 FROM flipped))
                SELECT count(*) FROM flipped
                """, connection, transaction))
            {
                flip.Parameters.AddWithValue("name", provider.Name);
                flip.Parameters.AddWithValue("error", Cut(error));
                flip.Parameters.AddWithValue("break", breakDuration);
                flipped = (long)(await flip.ExecuteScalarAsync(cancellationToken))! == 1;
            }

            if (flipped)
            {
                refunded = await PhotoStatus.WaitForProviderAsync(connection, transaction, provider.Name, RefundWindow, cancellationToken);
            }

            await using (var notify = new NpgsqlCommand($"SELECT pg_notify('{ProcessingChannels.ProviderState}', @name)", connection, transaction))
            {
                notify.Parameters.AddWithValue("name", provider.Name);
                await notify.ExecuteNonQueryAsync(cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
        }

        await RefreshAsync(cancellationToken);
        if (!flipped)
            return;
        logger.LogWarning("Analysis provider {Provider} is unavailable ({Error}); {Refunded} photos got their attempt back and wait", provider.Name, error, refunded);
        await alerts.RaiseAsync(AlertKind.ProviderUnavailable,
            $"The analysis provider {provider.Name} ({provider.Model}) is unavailable: {Cut(error)}. Photos wait without spending attempts; " +
            $"it is tested again every {breakDuration.TotalSeconds:0} s.", cancellationToken);
    }

    /// <summary>Takes the one probe allowed per break across all instances; false when it is not due or someone else took it.</summary>
    public async Task<bool> TryTakeProbeAsync(ProviderSettings provider, TimeSpan breakDuration, CancellationToken cancellationToken)
    {
        await using var cmd = db.CreateCommand($"""
            UPDATE analysis_providers SET next_probe_at = now() + @break, updated_at = now()
            WHERE name = @name AND state = '{Unavailable}' AND next_probe_at <= now()
            RETURNING next_probe_at
            """);
        cmd.Parameters.AddWithValue("name", provider.Name);
        cmd.Parameters.AddWithValue("break", breakDuration);
        var taken = await cmd.ExecuteScalarAsync(cancellationToken) is not null;
        if (!taken)
            Invalidate();
        else
            await RefreshAsync(cancellationToken);
        return taken;
    }

    /// <summary>A probe failed: the provider stays unavailable with the latest error.</summary>
    public async Task ProbeFailedAsync(ProviderSettings provider, string error, CancellationToken cancellationToken)
    {
        await using var cmd = db.CreateCommand("UPDATE analysis_providers SET last_error = @error, updated_at = now() WHERE name = @name");
        cmd.Parameters.AddWithValue("name", provider.Name);
        cmd.Parameters.AddWithValue("error", Cut(error));
        await cmd.ExecuteNonQueryAsync(cancellationToken);
        logger.LogInformation("Probe of analysis provider {Provider} failed ({Error})", provider.Name, error);
    }

    /// <summary>A probe succeeded: the first to report it marks the provider available, alerts once, and wakes every claimer.</summary>
    public async Task ReportRecoveredAsync(ProviderSettings provider, CancellationToken cancellationToken)
    {
        await using var cmd = db.CreateCommand($"""
            WITH flipped AS (
                UPDATE analysis_providers SET state = '{Available}', since = now(), updated_at = now()
                WHERE name = @name AND state = '{Unavailable}'
                RETURNING since)
            SELECT (SELECT count(*) FROM flipped), pg_notify('{ProcessingChannels.ProviderState}', @name)
            """);
        cmd.Parameters.AddWithValue("name", provider.Name);
        var flipped = (long)(await cmd.ExecuteScalarAsync(cancellationToken))!;
        await RefreshAsync(cancellationToken);
        wake.Set();
        if (flipped == 0)
            return;
        logger.LogInformation("Analysis provider {Provider} is available again", provider.Name);
        await alerts.RaiseAsync(AlertKind.ProviderRecovered,
            $"The analysis provider {provider.Name} ({provider.Model}) is available again; waiting photos go on by themselves.", cancellationToken);
    }

    private void Invalidate()
    {
        Interlocked.Exchange(ref _stale, 1);
        wake.Set();
        _ = Task.Run(async () =>
        {
            try
            {
                await RefreshAsync(CancellationToken.None);
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException)
            {
                logger.LogDebug("Reading provider states failed ({Message})", e.Message);
            }
        });
    }

    private static string Cut(string s) => s.Length <= 1000 ? s : s[..1000];
}
