using System.Reflection;

namespace VehicleImages.Migrations;

/// <summary>
/// Functions and triggers live as versioned .sql files beside this class (<c>name.vN.sql</c>, embedded in the
/// assembly), as Hangfire.PostgreSql keeps its <c>Install.vNN.sql</c>. A migration loads the versions it
/// installs (and, in its Down, the versions it restores) by name, so history stays frozen: a change to a
/// function is a new file and a new migration, never an edit of a file a migration already loads, and no
/// migration calls another migration's code.
/// </summary>
internal static class SqlScripts
{
    public static string Load(string name)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream($"{name}.sql")
            ?? throw new InvalidOperationException($"migrations/Sql/{name}.sql is not embedded in {Assembly.GetExecutingAssembly().GetName().Name}");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
