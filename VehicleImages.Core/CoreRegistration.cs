using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using VehicleImages.Core.Configuration;
using VehicleImages.Core.Data;
using VehicleImages.Core.Processing.Admin;
using VehicleImages.Core.Processing.Chores;
using VehicleImages.Core.Processing.Events;
using VehicleImages.Core.Processing.Monitoring;
using VehicleImages.Core.Processing.Queue;
using VehicleImages.Core.Processing.Workers;

namespace VehicleImages.Core;

public static class CoreRegistration
{
    public const string ConnectionStringName = "Default";

    /// <summary>Options, the database and the pipeline's services; everything below the web layer.</summary>
    public static IHostApplicationBuilder AddVehicleImagesCore(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        AddValidatedOptions<StorageOptions>(services, StorageOptions.SectionName);
        AddValidatedOptions<UploadOptions>(services, UploadOptions.SectionName);
        AddValidatedOptions<AnalysisOptions>(services, AnalysisOptions.SectionName);
        AddValidatedOptions<ListingOptions>(services, ListingOptions.SectionName);
        AddValidatedOptions<ExportOptions>(services, ExportOptions.SectionName);
        AddValidatedOptions<ProcessingOptions>(services, ProcessingOptions.SectionName);
        AddValidatedOptions<AlertsOptions>(services, AlertsOptions.SectionName);
        AddValidatedOptions<RateLimitOptions>(services, RateLimitOptions.SectionName);
        AddValidatedOptions<ForwardedHeadersSettings>(services, ForwardedHeadersSettings.SectionName);
        AddValidatedOptions<QuotaOptions>(services, QuotaOptions.SectionName);
        AddValidatedOptions<AccountOptions>(services, AccountOptions.SectionName);
        AddValidatedOptions<Privacy.PrivacyOptions>(services, Privacy.PrivacyOptions.SectionName);
        services.AddSingleton<ProcessingOptionsSetup>();
        services.AddSingleton<IPostConfigureOptions<ProcessingOptions>>(sp => sp.GetRequiredService<ProcessingOptionsSetup>());
        services.AddSingleton<IValidateOptions<ProcessingOptions>>(sp => sp.GetRequiredService<ProcessingOptionsSetup>());
        services.AddSingleton<IValidateOptions<AnalysisOptions>, UrlOptionsValidation>();
        services.AddSingleton<IValidateOptions<StorageOptions>, StorageOptionsValidation>();
        services.AddSingleton<IValidateOptions<AlertsOptions>, UrlOptionsValidation>();
        services.AddSingleton<ForwardedHeadersSetup>();
        services.AddSingleton<IPostConfigureOptions<ForwardedHeadersSettings>>(sp => sp.GetRequiredService<ForwardedHeadersSetup>());
        services.AddSingleton<IValidateOptions<ForwardedHeadersSettings>>(sp => sp.GetRequiredService<ForwardedHeadersSetup>());

        var connectionString = builder.Configuration.GetConnectionString(ConnectionStringName);
        if (string.IsNullOrWhiteSpace(connectionString))
            throw new InvalidOperationException(
                "ConnectionStrings:Default (ConnectionStrings__Default) is not set. Start the app with ./run.sh, " +
                "which provides a private PostgreSQL cluster, or point it at a PostgreSQL database of your own.");

        // A factory for code that interactive components call (one context per operation), and a
        // scoped context for request handlers and Identity.
        services.AddDbContextFactory<VehicleImagesDbContext>(o => VehicleImagesDbContext.Configure(o, connectionString));
        var dataProtection = services.AddDataProtection()
            .SetApplicationName("VehicleImages")
            .PersistKeysToDbContext<VehicleImagesDbContext>();
        if (Accounts.KeyEncryptionCertificate.Load(builder.Configuration) is { } certificate)
            dataProtection.ProtectKeysWithCertificate(certificate).UnprotectKeysWithAnyCertificate(certificate);
        // TryAdd: a test that registered a fake clock first keeps it.
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<DatabaseMigrator>();
        services.AddSingleton<Vehicles.VehicleService>();
        services.AddSingleton<Storage.S3Connection>();
        services.AddSingleton<Storage.IImageStore>(sp =>
            sp.GetRequiredService<IOptions<StorageOptions>>().Value.Provider == StorageProvider.S3
                ? ActivatorUtilities.CreateInstance<Storage.S3ImageStore>(sp)
                : ActivatorUtilities.CreateInstance<Storage.FileSystemImageStore>(sp));
        services.AddSingleton<Storage.StoredFileCleaner>();
        services.AddSingleton<Quotas.QuotaService>();
        services.AddSingleton<Accounts.InvitationService>();
        services.AddSingleton<Accounts.RoleCheck>();
        services.AddSingleton<Uploads.ImageIngestService>();
        services.AddSingleton<Images.ImageService>();
        services.AddSingleton<Listings.ListingService>();
        services.AddSingleton<Export.ExportService>();
        services.AddSingleton<Sharing.ShareService>();
        services.AddHostedService<Sharing.ShareViewFlusher>();
        // Privacy boxes (issue 27): the blurred copies, the door photos leave through, the local detector as a step before tier 1.
        services.AddSingleton<Privacy.BlurredVariants>();
        services.AddSingleton<Privacy.IPublishedImages, Privacy.BlurredPublishedImages>();
        services.AddSingleton<Privacy.PrivacyBoxWriter>();
        services.AddSingleton<Privacy.LocalDetector>();
        services.AddSingleton<Privacy.PrivacyDetectorStep>();
        services.AddSingleton<Analysis.ILocalStep>(sp => sp.GetRequiredService<Privacy.PrivacyDetectorStep>());
        services.AddSingleton<Privacy.PrivacyBoxService>();
        services.AddSingleton<Storage.OrphanSweeper>();
        // Unfinished tus uploads beside the photos: on the local disk, or in the bucket (multipart) so any instance resumes them.
        services.AddSingleton<Uploads.IUploadBytes>(sp =>
            sp.GetRequiredService<IOptions<StorageOptions>>().Value.Provider == StorageProvider.S3
                ? ActivatorUtilities.CreateInstance<Uploads.S3UploadBytes>(sp)
                : ActivatorUtilities.CreateInstance<Uploads.FileSystemUploadBytes>(sp));
        services.AddSingleton<Uploads.ResumableUploadService>();

        // The queue and its workers. One data source (pool) for the queue's short statements; the
        // listener opens its own unpooled connection.
        // The queue's statements run thousands of times: Npgsql prepares them after two uses, so
        // PostgreSQL plans each once per connection instead of on every call.
        services.AddSingleton(_ => Npgsql.NpgsqlDataSource.Create(new Npgsql.NpgsqlConnectionStringBuilder(connectionString)
        {
            MaxAutoPrepare = Math.Max(new Npgsql.NpgsqlConnectionStringBuilder(connectionString).MaxAutoPrepare, 32),
            AutoPrepareMinUsages = 2,
        }.ConnectionString));
        // The data source hides the password from its ConnectionString; the listener needs the whole string.
        services.AddSingleton(new Processing.DatabaseConnection(connectionString));
        services.AddHttpClient();
        // The webhook's URL is a secret: its client writes no request lines, at any log level.
        services.AddHttpClient(nameof(Alerts.AlertService)).RemoveAllLoggers();
        services.AddSingleton(sp => Processing.Queue.QueueOwner.ForThisProcess(
            TimeSpan.FromSeconds(sp.GetRequiredService<IOptions<ProcessingOptions>>().Value.LeaseSeconds)));
        services.AddSingleton<Processing.Queue.JobQueue>();
        services.AddSingleton<Processing.Queue.CompletionWriter>();
        services.AddSingleton<Processing.Queue.RetrySchedule>();
        services.AddSingleton<Processing.Admin.ProcessingCommands>();
        services.AddSingleton<Processing.Monitoring.QueueMonitor>();
        services.AddSingleton<Processing.Monitoring.JobExplorer>();
        services.AddSingleton<Processing.Monitoring.ProcessingReports>();
        services.AddSingleton<Processing.Workers.WakeSignal>();
        services.AddSingleton<Processing.Events.ProcessingEvents>();
        services.AddSingleton<Alerts.AlertService>();
        services.AddSingleton<Alerts.AlertInbox>();
        // The provider chain (primary, then fallbacks) and its shared state; the gate the claimer asks.
        services.AddSingleton<Analysis.ProviderHealth>();
        services.AddSingleton<Analysis.LocalSteps>();
        // Embeddings, focus and exposure (one ONNX session per process, shared by the workers), stacks and keep-best.
        services.AddSingleton<Embeddings.ImageEmbedder>();
        services.AddSingleton<Embeddings.StackService>();
        services.AddSingleton<Embeddings.StackedAnalysis>();
        services.AddSingleton<Embeddings.SuggestionService>();
        services.AddSingleton<Embeddings.EmbeddingStep>();
        services.AddOptions<Embeddings.EmbeddingOptions>().BindConfiguration(Embeddings.EmbeddingOptions.SectionName);
        if (builder.Configuration.GetValue($"{Embeddings.EmbeddingOptions.SectionName}:{nameof(Embeddings.EmbeddingOptions.Enabled)}", true))
            services.AddSingleton<Analysis.ILocalStep>(sp => sp.GetRequiredService<Embeddings.EmbeddingStep>());
        services.AddSingleton<Embeddings.KeepBest>();
        services.AddSingleton<Analysis.ProviderChain>();
        services.AddSingleton<Analysis.IAnalysisGate>(sp =>
            sp.GetRequiredService<IOptions<AnalysisOptions>>().Value.Provider == AnalysisProvider.OpenAI
                ? sp.GetRequiredService<Analysis.ProviderChain>()
                : new Analysis.AlwaysOpenGate());
        // TryAdd: a host (or a test) that registered its own analyzer first keeps it.
        services.TryAddSingleton<Analysis.IImageAnalyzer>(sp =>
            sp.GetRequiredService<IOptions<AnalysisOptions>>().Value.Provider == AnalysisProvider.OpenAI
                ? ActivatorUtilities.CreateInstance<Analysis.TieredAnalyzer>(sp)
                : ActivatorUtilities.CreateInstance<Analysis.LocalAnalyzer>(sp));
        services.AddSingleton<Processing.Events.DatabaseListener>();
        services.AddHostedService(sp => sp.GetRequiredService<Processing.Events.DatabaseListener>());
        services.AddSingleton<Processing.Workers.Claimer>();
        services.AddSingleton<Processing.Workers.WorkerPool>();
        services.AddSingleton<Processing.Workers.ProcessingHost>();
        services.AddHostedService(sp => sp.GetRequiredService<Processing.Workers.ProcessingHost>());
        Processing.Chores.MaintenanceSchedule.Register(services);
        return builder;
    }

    private static void AddValidatedOptions<T>(IServiceCollection services, string section) where T : class =>
        services.AddOptions<T>().BindConfiguration(section).ValidateDataAnnotations().ValidateOnStart();
}
