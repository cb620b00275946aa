using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using VehicleImages.Web;

namespace VehicleImages.Tests.TestHost;

/// <summary>The real app on loopback Kestrel (a free port) against a database of the test's own.</summary>
public sealed class TestApp : IAsyncDisposable
{
    private TestApp(WebApplication app, Uri baseAddress, string connectionString, string storageRoot, bool ownsStorage)
    {
        _ownsStorage = ownsStorage;
        App = app;
        BaseAddress = baseAddress;
        ConnectionString = connectionString;
        StorageRoot = storageRoot;
    }

    private readonly bool _ownsStorage;

    public WebApplication App { get; }
    public Uri BaseAddress { get; }
    public string ConnectionString { get; }
    public string StorageRoot { get; }
    public IServiceProvider Services => App.Services;

    public static async Task<TestApp> StartAsync(string connectionString, IReadOnlyDictionary<string, string?>? settings = null,
        Action<IServiceCollection>? services = null, string? storageRoot = null)
    {
        var storage = storageRoot ?? Directory.CreateTempSubdirectory("vi-test-storage-").FullName;
        var app = VehicleImagesApp.Build(["--urls", "http://127.0.0.1:0"], builder =>
        {
            var values = new Dictionary<string, string?>
            {
                ["ConnectionStrings:Default"] = connectionString,
                ["Storage:Root"] = storage,
                // The rig signs up hundreds of accounts from 127.0.0.1 within a minute; the limit itself
                // is tested with its own settings (Limits/RateLimitTests), which replace this one.
                ["RateLimits:AuthPerMinute"] = "0",
                // The local plate and face detector would add boxes (and so blur what leaves the app) to any test's
                // photos; the privacy tests (Tests/Privacy) turn it on.
                ["Privacy:LocalDetector"] = "false",
                // As run.sh provides one: outside Development the app refuses to serve without it.
                [TestCertificate.Key] = TestCertificate.Path,
            };
            foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
                values[key] = value;
            builder.Configuration.AddInMemoryCollection(values);
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            builder.Logging.AddProvider(new ErrorFileLoggerProvider());
            services?.Invoke(builder.Services);
        });
        await VehicleImagesApp.StartAsync(app, TestContext.Current.CancellationToken);
        var metricsPort = app.Configuration["Metrics:Port"];
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses
            .First(a => metricsPort is null || !a.EndsWith($":{metricsPort}", StringComparison.Ordinal));
        return new TestApp(app, new Uri(address.TrimEnd('/') + "/"), connectionString, storage, storageRoot is null);
    }

    public HttpClient CreateClient() => new() { BaseAddress = BaseAddress };

    /// <summary>A loopback port free right now, for a second listener such as Metrics:Port.</summary>
    public static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Registers a new account (unless it exists), signs in with a token and returns a client that sends it.</summary>
    public async Task<HttpClient> CreateUserClientAsync(string? email = null, string password = "Passw0rd!")
    {
        email ??= $"user-{Guid.NewGuid():N}@example.test";
        using var anonymous = CreateClient();
        var ct = TestContext.Current.CancellationToken;
        await anonymous.PostAsJsonAsync("api/auth/register", new { email, password }, ct);
        var tokens = await LoginAsync(anonymous, email, password);
        var client = CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", tokens.AccessToken);
        return client;
    }

    /// <summary>
    /// Signs in through the sign-in page's form, as a browser does, and returns a client holding the
    /// login cookie: for reading pages as their server-side prerender shows them.
    /// </summary>
    public async Task<HttpClient> CreateCookieClientAsync(string email, string password = "Passw0rd!")
    {
        var ct = TestContext.Current.CancellationToken;
        var client = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false }) { BaseAddress = BaseAddress };
        var form = await client.GetStringAsync("account/login", ct);
        var token = System.Text.RegularExpressions.Regex.Match(form, "name=\"__RequestVerificationToken\" value=\"([^\"]+)\"").Groups[1].Value;
        var response = await client.PostAsync("account/login", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["_handler"] = "login", ["__RequestVerificationToken"] = token, ["Input.Email"] = email, ["Input.Password"] = password,
        }), ct);
        if (response.StatusCode != HttpStatusCode.Redirect)
            throw new InvalidOperationException($"Signing in {email} through the page answered {(int)response.StatusCode}, not a redirect.");
        return client;
    }

    public static async Task<TokenResponse> LoginAsync(HttpClient client, string email, string password)
    {
        var response = await client.PostAsJsonAsync("api/auth/login", new { email, password }, TestContext.Current.CancellationToken);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<TokenResponse>(TestContext.Current.CancellationToken))!;
    }

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync(CancellationToken.None);
        await App.DisposeAsync();
        if (!_ownsStorage)
            return;
        try { Directory.Delete(StorageRoot, recursive: true); }
        catch (IOException) { /* a leftover temp folder does no harm */ }
    }
}
