using System.Net.Http.Headers;
using System.Net.Http.Json;
using Npgsql;

using VehicleImages.Rig;

namespace VehicleImages.Benchmarks;

/// <summary>The figures' shortcuts over the shared rig (VehicleImages.Rig): the app, PostgreSQL and HTTP helpers.</summary>
public static class Rig
{
    public static string Root => RepoPaths.Root;

    public static Task<string> ScriptAsync(params string[] args) => PostgresScript.RunAsync(args);

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

    /// <summary>
    /// The Release app as a separate process, so its memory is its own; started as run.sh starts it, except that the local
    /// steps before tier 1 (the plate and face detector, the embedding) are off: the queue, latency and live figures keep
    /// measuring what they did. A figure that wants them passes Privacy__LocalDetector / Embeddings__Enabled itself.
    /// </summary>
    public static Task<AppProcess> StartAppAsync(string connectionString, string storage, IDictionary<string, string>? settings = null) =>
        AppProcess.StartWithAppDefaultsAsync(connectionString, storage,
            new Dictionary<string, string?> { ["Privacy__LocalDetector"] = "false", ["Embeddings__Enabled"] = "false" }
                .Concat((settings ?? new Dictionary<string, string>()).Select(p => KeyValuePair.Create(p.Key, (string?)p.Value)))
                .GroupBy(p => p.Key).ToDictionary(g => g.Key, g => g.Last().Value));

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
