using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.RegularExpressions;

namespace VehicleImages.Tests.TestHost;

/// <summary>
/// The app (VehicleImages.Web.dll beside the tests) as a child process on a free loopback port: for what only a
/// real process shows, a SIGKILL with no shutdown hooks and its peak resident memory. <see cref="TestApp"/> is
/// the in-process app for everything else.
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

    /// <summary>
    /// Starts the app on <paramref name="connectionString"/> with its files under <paramref name="storage"/>, no workers
    /// and no sign-in rate limit unless <paramref name="settings"/> (configuration keys, "A:B" or "A__B") say otherwise,
    /// and returns once it listens.
    /// </summary>
    public static async Task<AppProcess> StartAsync(string connectionString, string storage, IReadOnlyDictionary<string, string?>? settings = null)
    {
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = AppContext.BaseDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "VehicleImages.Web.dll"));
        start.Environment["ConnectionStrings__Default"] = connectionString;
        start.Environment["Storage__Root"] = storage;
        start.Environment["Processing__Workers"] = "0";
        start.Environment["RateLimits__AuthPerMinute"] = "0";
        start.Environment["DataProtection__CertificatePath"] = TestCertificate.Path;
        start.Environment["ASPNETCORE_URLS"] = "http://127.0.0.1:0";
        start.Environment["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information";
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
            start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;

        var process = Process.Start(start)!;
        var errors = process.StandardError.ReadToEndAsync();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
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

    public HttpClient CreateClient() => new() { BaseAddress = BaseAddress, Timeout = TimeSpan.FromMinutes(5) };

    /// <summary>Registers a new account, signs in with a token and returns a client that sends it.</summary>
    public async Task<HttpClient> CreateUserClientAsync()
    {
        var email = $"user-{Guid.NewGuid():N}@example.test";
        var ct = TestContext.Current.CancellationToken;
        using var anonymous = CreateClient();
        (await anonymous.PostAsJsonAsync("api/auth/register", new { email, password = "Passw0rd!" }, ct)).EnsureSuccessStatusCode();
        var tokens = await TestApp.LoginAsync(anonymous, email, "Passw0rd!");
        var client = CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", tokens.AccessToken);
        return client;
    }

    /// <summary>VmHWM: the most resident memory the process has had since it started.</summary>
    public long PeakRssBytes()
    {
        foreach (var line in File.ReadLines($"/proc/{Process.Id}/status"))
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
        throw new InvalidOperationException("no VmHWM line");
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
