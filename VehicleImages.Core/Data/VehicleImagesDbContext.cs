using Microsoft.AspNetCore.DataProtection.EntityFrameworkCore;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Identity.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;
using VehicleImages.Core.Accounts;
using VehicleImages.Core.Alerts;
using VehicleImages.Core.Images;
using VehicleImages.Core.Vehicles;
using VehicleImages.Core.Processing.Queue;

namespace VehicleImages.Core.Data;

/// <summary>
/// The application's database. Names are snake_case (EFCore.NamingConventions).
/// Migrations live in the VehicleImages.Migrations assembly (folder migrations/). To add one:
/// <c>dotnet ef migrations add Name --project migrations --startup-project migrations</c>
/// (the design-time factory there needs no running database). Triggers, functions and partial
/// indexes EF cannot express are written as hand-checked SQL inside the migration.
/// </summary>
public sealed class VehicleImagesDbContext(DbContextOptions<VehicleImagesDbContext> options)
    : IdentityDbContext<AppUser, IdentityRole<Guid>, Guid>(options), IDataProtectionKeyContext
{
    public const string MigrationsAssembly = "VehicleImages.Migrations";

    public DbSet<Vehicle> Vehicles => Set<Vehicle>();
    public DbSet<VehicleImage> VehicleImages => Set<VehicleImage>();
    public DbSet<VehicleImageAngle> VehicleImageAngles => Set<VehicleImageAngle>();
    public DbSet<ImageSpatialMetadata> ImageSpatialMetadata => Set<ImageSpatialMetadata>();
    public DbSet<AdminAlert> AdminAlerts => Set<AdminAlert>();
    public DbSet<Processing.Queue.ImageProcessingJob> ImageProcessingJobs => Set<Processing.Queue.ImageProcessingJob>();
    public DbSet<Processing.Queue.ImageProcessingAttempt> ImageProcessingAttempts => Set<Processing.Queue.ImageProcessingAttempt>();
    public DbSet<Processing.Queue.ProcessingControl> ProcessingControl => Set<Processing.Queue.ProcessingControl>();
    public DbSet<Processing.AnalysisProviderState> AnalysisProviders => Set<Processing.AnalysisProviderState>();
    public DbSet<Quotas.UserDailyUsage> UserDailyUsage => Set<Quotas.UserDailyUsage>();
    public DbSet<Invitation> Invitations => Set<Invitation>();
    public DbSet<Listings.VehicleListing> VehicleListings => Set<Listings.VehicleListing>();
    public DbSet<Uploads.ResumableUpload> ResumableUploads => Set<Uploads.ResumableUpload>();
    public DbSet<Sharing.ShareLink> ShareLinks => Set<Sharing.ShareLink>();
    public DbSet<Privacy.PrivacyBox> PrivacyBoxes => Set<Privacy.PrivacyBox>();
    public DbSet<Privacy.PrivacyReview> PrivacyReviews => Set<Privacy.PrivacyReview>();
    public DbSet<Privacy.PrivacyScan> PrivacyScans => Set<Privacy.PrivacyScan>();
    public DbSet<Privacy.PrivacyBlurSet> PrivacyBlurSets => Set<Privacy.PrivacyBlurSet>();
    public DbSet<Embeddings.ImageEmbedding> ImageEmbeddings => Set<Embeddings.ImageEmbedding>();
    public DbSet<Embeddings.ImageStack> ImageStacks => Set<Embeddings.ImageStack>();
    public DbSet<Embeddings.ImageStackMember> ImageStackMembers => Set<Embeddings.ImageStackMember>();
    public DbSet<Embeddings.ImageSuggestion> ImageSuggestions => Set<Embeddings.ImageSuggestion>();

    /// <summary>Cookie and token keys, shared so that every app instance accepts every other's sign-ins.</summary>
    public DbSet<DataProtectionKey> DataProtectionKeys => Set<DataProtectionKey>();

    protected override void OnModelCreating(ModelBuilder builder)
    {
        base.OnModelCreating(builder);
        builder.ApplyConfigurationsFromAssembly(typeof(VehicleImagesDbContext).Assembly);
        // Stack reads in one query (migrations/Sql/vi_image_stack, vi_stack_best).
        builder.HasDbFunction(typeof(Embeddings.StackService).GetMethod(nameof(Embeddings.StackService.StackOf))!).HasName("vi_image_stack");
        builder.HasDbFunction(typeof(Embeddings.StackService).GetMethod(nameof(Embeddings.StackService.BestOf))!).HasName("vi_stack_best");
    }

    /// <summary>The one place that sets provider options, used by the app and the design-time factory.</summary>
    public static void Configure(DbContextOptionsBuilder options, string connectionString) =>
        options
            .UseNpgsql(connectionString, npgsql => npgsql.MigrationsAssembly(MigrationsAssembly))
            .UseSnakeCaseNamingConvention();
}
