using System.Diagnostics;

namespace VehicleImages.Rig;

/// <summary>scripts/postgres.sh, the one way the tests and the benchmarks start, stop and install their private PostgreSQL cluster.</summary>
public static class PostgresScript
{
    /// <summary>Runs the script with <paramref name="args"/> and returns what it printed (a connection string for <c>start</c>).</summary>
    public static async Task<string> RunAsync(params string[] args)
    {
        var script = Path.Combine(RepoPaths.Root, "scripts", "postgres.sh");
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(script);
        foreach (var a in args)
            start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
            throw new InvalidOperationException(
                $"The private PostgreSQL server could not be started (scripts/postgres.sh {string.Join(' ', args)} exited {process.ExitCode}): " +
                $"{await stderr}. Install PostgreSQL server binaries (./test.sh and ./bench.sh do) or set ConnectionStrings__Default.");
        return (await stdout).Trim();
    }
}
