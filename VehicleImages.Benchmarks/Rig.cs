using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Npgsql;

namespace VehicleImages.Benchmarks;

/// <summary>PostgreSQL, app processes and HTTP helpers shared by the figures.</summary>
public static class Rig
{
    public static string Root { get; } = FindRoot();

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "VehicleImages.sln")))
                return dir.FullName;
        throw new InvalidOperationException("VehicleImages.sln not found");
    }

    public static async Task<string> ScriptAsync(params string[] args)
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(Root, "scripts", "postgres.sh"));
        foreach (var a in args)
            start.ArgumentList.Add(a);
        using var p = Process.Start(start)!;
        var output = await p.StandardOutput.ReadToEndAsync();
        var error = await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        if (p.ExitCode != 0)
            throw new InvalidOperationException($"postgres.sh {string.Join(' ', args)}: {error}");
        return output.Trim();
    }

    /// <summary>A fresh database on the benchmark cluster.</summary>
    public static async Task<string> DatabaseAsync(string admin)
    {
        var name = $"bench_{Guid.NewGuid():N}";
        await using (var c = new NpgsqlConnection(admin))
        {
            await c.OpenAsync();
            await new NpgsqlCommand($"CREATE DATABASE {name}", c).ExecuteNonQueryAsync();
        }

        return new NpgsqlConnectionStringBuilder(admin) { Database = name }.ConnectionString;
    }

    public sealed class AppProcess(Process process, Uri baseAddress) : IAsyncDisposable
    {
        public Uri BaseAddress { get; } = baseAddress;
        public int Pid => process.Id;

        /// <summary>Resident set size of the process now (VmRSS).</summary>
        public long RssBytes()
        {
            foreach (var line in File.ReadLines($"/proc/{process.Id}/status"))
                if (line.StartsWith("VmRSS:"))
                    return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
            return 0;
        }

        /// <summary>Peak resident set size of the process so far, from the kernel (VmHWM).</summary>
        public long PeakRssBytes()
        {
            foreach (var line in File.ReadLines($"/proc/{process.Id}/status"))
                if (line.StartsWith("VmHWM:"))
                    return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
            return 0;
        }

        public async ValueTask DisposeAsync()
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }

            process.Dispose();
        }
    }

    /// <summary>The Release app as a separate process, so its memory is its own.</summary>
    public static async Task<AppProcess> StartAppAsync(string connectionString, string storage, IDictionary<string, string>? settings = null)
    {
        var port = FreePort();
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = AppContext.BaseDirectory };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "VehicleImages.Web.dll"));
        start.Environment["ConnectionStrings__Default"] = connectionString;
        start.Environment["Storage__Root"] = storage;
        start.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        start.Environment["DataProtection__CertificatePath"] = Support.DataProtectionCertificate.Path;
        // The local plate and face detector (issue 27) runs before tier 1 on every photo; the figures measure the queue,
        // the provider path and the pages without it. A figure that wants it passes Privacy__LocalDetector=true.
        start.Environment["Privacy__LocalDetector"] = "false";
        foreach (var (k, v) in settings ?? new Dictionary<string, string>())
            start.Environment[k] = v;
        var process = Process.Start(start)!;
        _ = process.StandardOutput.ReadToEndAsync();
        _ = process.StandardError.ReadToEndAsync();
        var app = new AppProcess(process, new Uri($"http://127.0.0.1:{port}/"));
        using var http = new HttpClient { BaseAddress = app.BaseAddress };
        for (var i = 0; i < 600; i++)
        {
            try
            {
                if ((await http.GetAsync("health")).IsSuccessStatusCode)
                    return app;
            }
            catch (HttpRequestException)
            {
            }

            if (process.HasExited)
                throw new InvalidOperationException("the app process exited during start-up");
            await Task.Delay(100);
        }

        throw new TimeoutException("the app did not start");
    }

    public static int FreePort()
    {
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    public static async Task<(HttpClient Client, string Token)> UserAsync(Uri baseAddress, string email)
    {
        var client = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromMinutes(10) };
        await client.PostAsJsonAsync("api/auth/register", new { email, password = "Passw0rd!" });
        var login = await client.PostAsJsonAsync("api/auth/login", new { email, password = "Passw0rd!" });
        var token = (await login.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("accessToken").GetString()!;
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return (client, token);
    }

    public static async Task<Guid> VehicleAsync(HttpClient client)
    {
        var response = await client.PostAsJsonAsync("api/vehicles", new { name = "Benchmark car" });
        return (await response.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("id").GetGuid();
    }

    public static async Task<System.Text.Json.JsonElement> UploadAsync(HttpClient client, Guid vehicle, string name, byte[] bytes)
    {
        using var content = new MultipartFormDataContent();
        content.Add(new ByteArrayContent(bytes), "files", name);
        var response = await client.PostAsync($"api/vehicles/{vehicle}/images", content);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("results")[0];
    }
}
