using System.Diagnostics;
using Npgsql;

namespace VehicleImages.Benchmarks;

/// <summary>
/// Where a queue's time goes, per job: the statements the database ran (pg_stat_statements, which the
/// benchmark's cluster preloads for `queue-profile`), transactions (each a WAL flush at commit),
/// rows inserted/updated/deleted and how many updates were HOT (pg_stat_user_tables), WAL bytes
/// (pg_current_wal_lsn), NOTIFYs heard on image_status, and bytes allocated in this process.
/// Counted over the drain only; the setup before it is not.
/// </summary>
public sealed class QueueProfile(string admin, string name)
{
    private string _cs = "";
    private string _walBefore = "";
    private long _allocatedBefore;
    private long _allocated;
    private TimeSpan _cpuBefore;
    private TimeSpan _cpu;
    private long _notifies;
    private long _notifyBytes;
    private NpgsqlConnection? _listener;
    private Task? _listening;
    private readonly CancellationTokenSource _stop = new();

    public string Name => name;
    public Dictionary<string, double> PerJob { get; } = [];
    public List<(string Statement, double CallsPerJob, double RowsPerCall, double WalBytesPerJob, double MsPerJob)> Statements { get; } = [];

    public async Task BeforeAsync(string cs)
    {
        _cs = cs;
        await using (var c = new NpgsqlConnection(admin))
        {
            await c.OpenAsync();
            await new NpgsqlCommand("CREATE EXTENSION IF NOT EXISTS pg_stat_statements", c).ExecuteNonQueryAsync();
            await new NpgsqlCommand("SELECT pg_stat_statements_reset()", c).ExecuteNonQueryAsync();
            await using (var d = new NpgsqlConnection(cs))
            {
                await d.OpenAsync();
                await new NpgsqlCommand("SELECT pg_stat_reset()", d).ExecuteNonQueryAsync();
            }

            _walBefore = (string)(await new NpgsqlCommand("SELECT pg_current_wal_lsn()::text", c).ExecuteScalarAsync())!;
        }

        _listener = new NpgsqlConnection(cs);
        await _listener.OpenAsync();
        _listener.Notification += (_, e) =>
        {
            Interlocked.Increment(ref _notifies);
            Interlocked.Add(ref _notifyBytes, e.Payload.Length);
        };
        await new NpgsqlCommand("LISTEN image_status", _listener).ExecuteNonQueryAsync();
        _listening = Task.Run(async () =>
        {
            try
            {
                while (true)
                    await _listener.WaitAsync(_stop.Token);
            }
            catch (OperationCanceledException)
            {
            }
        });
        _allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        _cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
    }

    public void Drained()
    {
        _allocated = GC.GetTotalAllocatedBytes(precise: true) - _allocatedBefore;
        _cpu = Process.GetCurrentProcess().TotalProcessorTime - _cpuBefore;
    }

    public async Task AfterAsync(int jobs)
    {
        // Notifications still on their way, and the backends' table counters (flushed at their exit).
        await Task.Delay(1500);
        await _stop.CancelAsync();
        if (_listening is not null)
            await _listening;
        await _listener!.DisposeAsync();
        var database = new NpgsqlConnectionStringBuilder(_cs).Database!;
        await using var c = new NpgsqlConnection(admin);
        await c.OpenAsync();
        var wal = (decimal)(await new NpgsqlCommand($"SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '{_walBefore}')", c).ExecuteScalarAsync())!;
        await using (var s = new NpgsqlCommand("""
            SELECT regexp_replace(left(s.query, 4000), '\s+', ' ', 'g'), s.calls, s.rows, s.wal_bytes, s.total_exec_time
            FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
            WHERE d.datname = @db AND s.query NOT ILIKE '%pg_stat%' AND s.query NOT ILIKE 'LISTEN%'
            ORDER BY s.calls DESC
            """, c))
        {
            s.Parameters.AddWithValue("db", database);
            await using var r = await s.ExecuteReaderAsync();
            var rows = new List<(string Label, long Calls, long Rows, decimal Wal, double Ms)>();
            while (await r.ReadAsync())
                rows.Add((Label(r.GetString(0)), r.GetInt64(1), r.GetInt64(2), r.GetDecimal(3), r.GetDouble(4)));
            foreach (var g in rows.GroupBy(x => x.Label).OrderByDescending(g => g.Sum(x => x.Ms)))
            {
                var calls = g.Sum(x => x.Calls);
                Statements.Add((g.Key, (double)calls / jobs, calls == 0 ? 0 : (double)g.Sum(x => x.Rows) / calls,
                    (double)g.Sum(x => x.Wal) / jobs, g.Sum(x => x.Ms) / jobs));
            }
        }

        await using var d = new NpgsqlConnection(_cs);
        await d.OpenAsync();
        await using (var t = new NpgsqlCommand("""
            SELECT coalesce(sum(n_tup_ins), 0)::float8, coalesce(sum(n_tup_upd), 0)::float8, coalesce(sum(n_tup_hot_upd), 0)::float8, coalesce(sum(n_tup_del), 0)::float8
            FROM pg_stat_user_tables
            """, d))
        await using (var r = await t.ExecuteReaderAsync())
        {
            await r.ReadAsync();
            PerJob["rows inserted"] = r.GetDouble(0) / jobs;
            PerJob["rows updated"] = r.GetDouble(1) / jobs;
            PerJob["of them HOT"] = r.GetDouble(2) / jobs;
            PerJob["rows deleted"] = r.GetDouble(3) / jobs;
        }

        var commits = (long)(await new NpgsqlCommand("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()", d).ExecuteScalarAsync())!;
        PerJob["statements (pool resets apart)"] = Statements.Where(s => s.Statement != PoolReset).Sum(s => s.CallsPerJob);
        PerJob["pool resets (7 statements each, sent with the next one)"] = Statements.Where(s => s.Statement == PoolReset).Sum(s => s.CallsPerJob) / 7;
        PerJob["server execution ms (all statements)"] = Statements.Sum(s => s.MsPerJob);
        PerJob["transactions (commits)"] = (double)commits / jobs;
        PerJob["WAL bytes"] = (double)wal / jobs;
        PerJob["NOTIFYs on image_status"] = (double)_notifies / jobs;
        PerJob["NOTIFY payload bytes"] = (double)_notifyBytes / jobs;
        PerJob["lease renewals"] = Statements.Where(s => s.Statement == "renew lease").Sum(s => s.CallsPerJob);
        PerJob["bytes allocated (this process)"] = (double)_allocated / jobs;
        PerJob["CPU ms in this process (the queue's client side)"] = _cpu.TotalMilliseconds / jobs;
    }

    /// <summary>A short name for a statement, from its text.</summary>
    private const string PoolReset = "pool reset (Npgsql, a connection back in the pool)";

    public static string Label(string query) => query switch
    {
        "SET SESSION AUTHORIZATION DEFAULT" or "RESET ALL" or "CLOSE ALL" or "UNLISTEN *" or "SELECT pg_advisory_unlock_all()"
            or "DISCARD SEQUENCES" or "DISCARD TEMP" => PoolReset,
        _ when query.Contains("FOR UPDATE SKIP LOCKED") && query.Contains("bare_jobs") => "bare: claim",
        _ when query.Contains("bare_jobs") && query.Contains("'complete'") => "bare: complete",
        _ when query.Contains("vi_due_jobs(") => "claim",
        _ when query.Contains("lease_until = now() +") && !query.Contains("SKIP LOCKED") => "renew lease",
        _ when query.Contains("FOR UPDATE SKIP LOCKED") && query.Contains("image_processing_jobs") && query.Contains("lease_until < now()") => "rescue expired",
        _ when query.Contains("unnest") && query.Contains("image_processing_attempts") => "complete (set-based)",
        _ when query.Contains("EXISTS (SELECT 1 FROM image_processing_jobs") => "benchmark's watcher",
        _ => query.Length > 90 ? query[..90] + "…" : query,
    };
}
