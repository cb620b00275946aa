using Microsoft.Extensions.Options;
using Npgsql;
using VehicleImages.Core;
using VehicleImages.Core.Data;
using VehicleImages.Core.Processing.Admin;

namespace VehicleImages.Web;

public static class VehicleImagesApp
{
    public const string DefaultUrl = "http://localhost:5080";
    private const string MigrateOnly = "--migrate-only";
    private const string Backfill = "backfill";

    /// <summary>Composes the app; <paramref name="configure"/> lets tests add configuration before services read it.</summary>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args.Where(a => a is not (MigrateOnly or Backfill)).ToArray(),
            ApplicationName = typeof(VehicleImagesApp).Assembly.GetName().Name,
        });
        // Serves package assets (MudBlazor's _content) from a build that was not published, in any
        // environment; a no-op for a published app, whose assets are already in wwwroot.
        builder.WebHost.UseStaticWebAssets();
        if (string.IsNullOrEmpty(builder.Configuration[WebHostDefaults.ServerUrlsKey]))
            builder.WebHost.UseUrls(DefaultUrl);
        configure?.Invoke(builder);

        builder.AddVehicleImagesCore();
        builder.AddVehicleImagesWeb();

        var app = builder.Build();
        app.MapVehicleImagesWeb();
        return app;
    }

    /// <summary>Validates configuration, migrates the database, then starts serving.</summary>
    public static async Task StartAsync(WebApplication app, CancellationToken cancellationToken = default)
    {
        await PrepareAsync(app, serving: true, cancellationToken);
        await app.StartAsync(cancellationToken);
    }

    public static async Task<int> RunAsync(string[] args)
    {
        try
        {
            var app = Build(args);
            // Migrating and queueing a backfill sign nobody in: only serving needs the Data Protection certificate.
            await PrepareAsync(app, serving: !args.Contains(MigrateOnly) && !args.Contains(Backfill), CancellationToken.None);
            if (args.Contains(MigrateOnly))
            {
                Console.WriteLine("Migrations applied.");
                return 0;
            }

            if (args.Contains(Backfill))
            {
                // Enqueue and exit: the running instances' workers pick the jobs up.
                var queued = await app.Services.GetRequiredService<VehicleImages.Core.Processing.Admin.ProcessingCommands>().BackfillAsync(CancellationToken.None);
                Console.WriteLine($"Queued {queued} image(s) that had no complete analysis and no live job.");
                return 0;
            }

            await app.RunAsync();
            return 0;
        }
        catch (Exception e) when (e is OptionsValidationException or InvalidOperationException or NpgsqlException)
        {
            // Configuration and database problems are the operator's to fix: say what, not a stack trace.
            Console.Error.WriteLine($"VehicleImages cannot start: {e.Message}");
            return 1;
        }
    }

    public const string MissingCertificateMessage =
        "DataProtection__CertificatePath is not set. Outside Development the keys that sign login cookies and tokens are kept in the " +
        "database only encrypted, so that reading the table is not enough to sign in as anyone. Point DataProtection__CertificatePath at " +
        "a PEM certificate with its private key (or a .pfx/.p12 with DataProtection__CertificatePassword); ./run.sh makes one under .data/, " +
        "or: openssl req -x509 -newkey rsa:3072 -nodes -days 3650 -subj \"/CN=VehicleImages Data Protection\" -keyout dp.key -out dp.crt " +
        "&& cat dp.crt dp.key > data-protection.pem. Every instance that shares the database needs the same certificate.";

    /// <summary>
    /// Refuses to serve outside Development without the certificate that encrypts the Data Protection keys.
    /// Not generated here: instances that share keys through the database must share the certificate too.
    /// </summary>
    private static void RequireKeyCertificate(WebApplication app)
    {
        if (!app.Environment.IsDevelopment() && string.IsNullOrWhiteSpace(app.Configuration["DataProtection:CertificatePath"]))
            throw new InvalidOperationException(MissingCertificateMessage);
    }

    private static async Task PrepareAsync(WebApplication app, bool serving, CancellationToken cancellationToken)
    {
        // Options first, so a bad setting stops start-up before anything touches the database.
        app.Services.GetService<IStartupValidator>()?.Validate();
        if (serving)
            RequireKeyCertificate(app);
        try
        {
            await app.Services.GetRequiredService<DatabaseMigrator>().MigrateAsync(cancellationToken);
        }
        catch (NpgsqlException e)
        {
            var where = new NpgsqlConnectionStringBuilder(app.Configuration.GetConnectionString(CoreRegistration.ConnectionStringName));
            var database = $"{where.Host}:{where.Port}/{where.Database}";
            throw new InvalidOperationException(e is PostgresException
                ? $"migrating the database at {database} failed ({e.Message}). Its schema may come from another version of the app; " +
                  "see the README on resetting the data."
                : $"the database at {database} did not answer ({e.Message}). " +
                  "Check ConnectionStrings__Default, or unset it and start with ./run.sh.", e);
        }

        // A bucket that does not exist is created. A store that does not answer is reported, not
        // fatal: the app serves what it can, uploads answer 503 and /health names the store until it is back.
        var store = app.Services.GetRequiredService<VehicleImages.Core.Storage.IImageStore>();
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(30));
            await store.EnsureReadyAsync(timeout.Token);
        }
        catch (VehicleImages.Core.Storage.StoreUnavailableException e)
        {
            app.Logger.LogError("Storage is not ready at start-up: {Reason}. Uploads answer 503 until it is", e.Message);
        }
    }
}
