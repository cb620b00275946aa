using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.RegularExpressions;

namespace VehicleImages.Rig;

/// <summary>
/// The app (VehicleImages.Web.dll beside the tests) as a child process on a free loopback port: for what only a
/// real process shows, a SIGKILL with no shutdown hooks and its memory (the tests' TestApp is the in-process app for
/// everything else). The tests and the benchmarks start it the same way and know it is ready the same way: it printed
/// the address it listens on.
/// </summary>
public sealed partial class AppProcess : IAsyncDisposable
{
    private AppProcess(Process process, Uri baseAddress)
    {
        Process = process;
        BaseAddress = baseAddress;
    }

    public Process Process { get; }

    public Uri BaseAddress { get; }

    public int Pid => Process.Id;

    /// <summary>
    /// Starts the app on <paramref name="connectionString"/> with its files under <paramref name="storage"/>, no workers
    /// and no sign-in rate limit unless <paramref name="settings"/> (configuration keys, "A:B" or "A__B") say otherwise,
    /// and returns once it listens.
    /// </summary>
    public static Task<AppProcess> StartAsync(string connectionString, string storage, IReadOnlyDictionary<string, string?>? settings = null) =>
        StartProcessAsync(connectionString, storage, new Dictionary<string, string?> { ["Processing__Workers"] = "0", ["RateLimits__AuthPerMinute"] = "0" },
            settings);

    /// <summary>Starts the app as <c>run.sh</c> would (its own defaults for workers and limits), logging warnings only: the benchmarks' app.</summary>
    public static Task<AppProcess> StartWithAppDefaultsAsync(string connectionString, string storage, IReadOnlyDictionary<string, string?>? settings = null) =>
        StartProcessAsync(connectionString, storage, new Dictionary<string, string?> { ["Logging__LogLevel__Default"] = "Warning" }, settings);

    private static async Task<AppProcess> StartProcessAsync(string connectionString, string storage, IReadOnlyDictionary<string, string?> defaults,
        IReadOnlyDictionary<string, string?>? settings)
    {
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = AppContext.BaseDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "VehicleImages.Web.dll"));
        start.Environment["ConnectionStrings__Default"] = connectionString;
        start.Environment["Storage__Root"] = storage;
        start.Environment["DataProtection__CertificatePath"] = TestCertificate.Path;
        start.Environment["ASPNETCORE_URLS"] = "http://127.0.0.1:0";
        start.Environment["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information";
        foreach (var (key, value) in defaults.Concat(settings ?? new Dictionary<string, string?>()))
            start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;

        var process = Process.Start(start)!;
        var errors = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
        {
            if (Listening().Match(line) is { Success: true } m)
            {
                // Drain its output from here on so it never blocks on a full pipe.
                _ = process.StandardOutput.ReadToEndAsync();
                return new AppProcess(process, new Uri(m.Groups[1].Value + "/"));
            }
        }

        await process.WaitForExitAsync(CancellationToken.None);
        throw new InvalidOperationException($"The app process exited with {process.ExitCode} before it listened: {await errors}");
    }

    /// <summary>
    /// Runs the app with exactly <paramref name="environment"/> (nothing added: the operator's view) and
    /// <paramref name="args"/> until it exits by itself, within two minutes: its exit code and everything it printed.
    /// </summary>
    public static async Task<(int ExitCode, string Output)> RunToExitAsync(IDictionary<string, string> environment, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = AppContext.BaseDirectory };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "VehicleImages.Web.dll"));
        foreach (var a in args)
            start.ArgumentList.Add(a);
        foreach (var (k, v) in environment)
            start.Environment[k] = v;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"the app did not exit within two minutes: {await stdout}{await stderr}");
        }

        return (process.ExitCode, await stdout + await stderr);
    }

    public HttpClient CreateClient() => new() { BaseAddress = BaseAddress, Timeout = TimeSpan.FromMinutes(5) };

    /// <summary>Registers a new account, signs in with a token and returns a client that sends it.</summary>
    public async Task<HttpClient> CreateUserClientAsync(string? email = null)
    {
        email ??= $"user-{Guid.NewGuid():N}@example.test";
        using var anonymous = CreateClient();
        (await anonymous.PostAsJsonAsync("api/auth/register", new { email, password = "Passw0rd!" })).EnsureSuccessStatusCode();
        var login = await anonymous.PostAsJsonAsync("api/auth/login", new { email, password = "Passw0rd!" });
        login.EnsureSuccessStatusCode();
        var token = (await login.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("accessToken").GetString()!;
        var client = CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    /// <summary>VmRSS: the process's resident memory now.</summary>
    public long RssBytes() => StatusLine("VmRSS:");

    /// <summary>VmHWM: the most resident memory the process has had since it started.</summary>
    public long PeakRssBytes() => StatusLine("VmHWM:");

    private long StatusLine(string name)
    {
        foreach (var line in File.ReadLines($"/proc/{Process.Id}/status"))
            if (line.StartsWith(name, StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
        throw new InvalidOperationException($"no {name} line");
    }

    /// <summary>SIGKILL: no shutdown hooks run, claims and half-written files stay as they were.</summary>
    public async Task KillAsync()
    {
        if (!Process.HasExited)
            Process.Kill(entireProcessTree: true);
        await Process.WaitForExitAsync(CancellationToken.None);
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        Process.Dispose();
    }

    [GeneratedRegex(@"Now listening on: (http://127\.0\.0\.1:\d+)")]
    private static partial Regex Listening();
}
