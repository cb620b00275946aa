using Microsoft.EntityFrameworkCore;
using Npgsql;
using VehicleImages.Core.Data;

namespace VehicleImages.Tests.TestHost;

/// <summary>
/// One PostgreSQL server for the whole test run: the server in ConnectionStrings__Default when it is
/// set, otherwise a throwaway cluster started by scripts/postgres.sh in a temporary folder. A template
/// database is migrated once; each test class gets a copy of it, which takes milliseconds.
/// On the throwaway cluster the app connects as <see cref="AppRole"/>, which owns the databases and
/// is not a superuser, as run.sh's app does; the superuser only creates databases.
/// </summary>
public sealed class PostgresServer
{
    private const string TemplateName = "vi_test_template";
    private static readonly Lazy<Task<PostgresServer>> Instance = new(StartAsync);
    private static string? _clusterDir;

    public const string AppRole = "vi_app";

    private readonly NpgsqlConnectionStringBuilder _admin;
    private readonly NpgsqlConnectionStringBuilder _app;
    private readonly string _owner;

    private PostgresServer(string adminConnectionString, string? appPassword)
    {
        _admin = new NpgsqlConnectionStringBuilder(adminConnectionString) { Pooling = false };
        _app = appPassword is null
            ? new NpgsqlConnectionStringBuilder(_admin.ConnectionString)
            : new NpgsqlConnectionStringBuilder(_admin.ConnectionString) { Username = AppRole, Password = appPassword };
        _owner = appPassword is null ? "" : $" OWNER {AppRole}";
    }

    public static Task<PostgresServer> GetAsync() => Instance.Value;

    /// <summary>A new database with the schema applied.</summary>
    public async Task<string> CreateDatabaseAsync(string prefix = "t")
    {
        var name = $"{prefix}_{Guid.NewGuid():N}"[..Math.Min(60, prefix.Length + 33)].ToLowerInvariant();
        await ExecuteAsync($"CREATE DATABASE \"{name}\" TEMPLATE \"{TemplateName}\"{_owner}");
        return ConnectionString(name);
    }

    /// <summary>A new database with nothing in it, for tests of the migrations themselves.</summary>
    public async Task<string> CreateEmptyDatabaseAsync()
    {
        var name = $"empty_{Guid.NewGuid():N}";
        await ExecuteAsync($"CREATE DATABASE \"{name}\"{_owner}");
        return ConnectionString(name);
    }

    public string ConnectionString(string database) =>
        new NpgsqlConnectionStringBuilder(_app.ConnectionString) { Database = database, Pooling = true }.ConnectionString;

    private async Task ExecuteAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(_admin.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<PostgresServer> StartAsync()
    {
        var given = Environment.GetEnvironmentVariable("ConnectionStrings__Default");
        string admin;
        string? appPassword = null;
        if (!string.IsNullOrWhiteSpace(given))
        {
            // The operator's server: the given role creates the databases and the app uses it too.
            admin = new NpgsqlConnectionStringBuilder(given) { Database = "postgres" }.ConnectionString;
        }
        else
        {
            _clusterDir = Path.Combine(Path.GetTempPath(), $"vi-test-pg-{Environment.ProcessId}-{Guid.NewGuid():N}"[..40]);
            admin = (await RunScriptAsync("start", _clusterDir, "postgres")).Trim();
            appPassword = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        }

        var server = new PostgresServer(admin, appPassword);
        if (appPassword is not null)
            await server.ExecuteAsync(
                $"CREATE ROLE {AppRole} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '{appPassword}'");
        await server.ExecuteAsync($"DROP DATABASE IF EXISTS \"{TemplateName}\"");
        await server.ExecuteAsync($"CREATE DATABASE \"{TemplateName}\"{server._owner}");
        var options = new DbContextOptionsBuilder<VehicleImagesDbContext>();
        VehicleImagesDbContext.Configure(options,
            new NpgsqlConnectionStringBuilder(server.ConnectionString(TemplateName)) { Pooling = false }.ConnectionString);
        await using (var db = new VehicleImagesDbContext(options.Options))
            await db.Database.MigrateAsync();
        return server;
    }

    internal static async Task StopAsync()
    {
        if (_clusterDir is null)
            return;
        await RunScriptAsync("stop", _clusterDir);
        try
        {
            Directory.Delete(_clusterDir, recursive: true);
            File.Delete(_clusterDir + ".password");
            File.Delete(_clusterDir + ".app-password");
            File.Delete(_clusterDir + ".initdb.log");
        }
        catch (IOException)
        {
            // A leftover temporary folder is harmless; the next run makes its own.
        }
    }

    internal static Task<string> RunScriptAsync(params string[] args) => PostgresScript.RunAsync(args);
}
