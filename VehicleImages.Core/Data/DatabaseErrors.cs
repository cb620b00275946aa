using Npgsql;

namespace VehicleImages.Core.Data;

/// <summary>What a PostgreSQL error means for the caller: retry the transaction, or blame the data.</summary>
public static class DatabaseErrors
{
    /// <summary>The server's error, however deep EF Core wrapped it.</summary>
    private static PostgresException? Postgres(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
            if (e is PostgresException postgres)
                return postgres;
        return null;
    }

    private static string? SqlState(Exception e) => Postgres(e)?.SqlState;

    /// <summary>The server's own words, without the SQLSTATE prefix, for a person to read.</summary>
    public static string MessageText(Exception e) => Postgres(e)?.MessageText ?? e.Message;

    /// <summary>PostgreSQL chose this transaction as a deadlock's victim; run again, it will go through.</summary>
    public static bool IsDeadlock(Exception e) => SqlState(e) == PostgresErrorCodes.DeadlockDetected;

    /// <summary>The statement's values were refused (classes 22 data exception, 23 integrity constraint).</summary>
    public static bool IsDataError(Exception e) => SqlState(e) is { } state && (state.StartsWith("22", StringComparison.Ordinal) || state.StartsWith("23", StringComparison.Ordinal));

    /// <summary>
    /// Runs a whole transaction again when PostgreSQL broke a deadlock by aborting it (a person's
    /// delete meeting a batch of results being written, say), so the person never sees an error for it.
    /// </summary>
    public static async Task<T> RetryDeadlocksAsync<T>(Func<Task<T>> transaction, int attempts = 3)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await transaction();
            }
            catch (Exception e) when (attempt < attempts && IsDeadlock(e))
            {
            }
        }
    }
}
