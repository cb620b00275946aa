using System.ComponentModel.DataAnnotations;

namespace VehicleImages.Core.Configuration;

// Each class binds one section of shared/CONTRACT.md's configuration table. Error messages name the
// key in both forms people type (appsettings and environment), because the message is all an
// operator sees when start-up stops.

public sealed class StorageOptions
{
    public const string SectionName = "Storage";

    [Required(AllowEmptyStrings = false, ErrorMessage = "Storage:Root (Storage__Root) must name a folder.")]
    public string Root { get; set; } = ".data/images";

    /// <summary>Where originals and variants go. Temporary files (uploads being received) stay under <see cref="Root"/> either way.</summary>
    public StorageProvider Provider { get; set; } = StorageProvider.FileSystem;

    public S3StorageOptions S3 { get; set; } = new();
}

public enum StorageProvider
{
    FileSystem,
    S3,
}

/// <summary>Storage:S3: any S3-compatible service (AWS, MinIO, Garage, Ceph RGW, R2), addressed path-style by default.</summary>
public sealed class S3StorageOptions
{
    /// <summary>The service's base URL, e.g. http://127.0.0.1:9000; none means AWS itself in <see cref="Region"/>.</summary>
    public Uri? ServiceUrl { get; set; }

    public string? Bucket { get; set; }

    /// <summary>With <see cref="SecretKey"/>; both unset means the AWS SDK's own credential chain (environment, profile, instance role).</summary>
    public string? AccessKey { get; set; }

    public string? SecretKey { get; set; }

    public string Region { get; set; } = "us-east-1";

    public bool ForcePathStyle { get; set; } = true;

    /// <summary>One request to the service, including the SDK's own retries of it.</summary>
    public int TimeoutSeconds { get; set; } = 30;
}

public sealed class UploadOptions
{
    public const string SectionName = "Upload";

    [Range(1L, long.MaxValue, ErrorMessage = "Upload:MaxFileBytes (Upload__MaxFileBytes) must be a positive number of bytes.")]
    public long MaxFileBytes { get; set; } = 50L * 1024 * 1024;

    [Range(1L, long.MaxValue, ErrorMessage = "Upload:MaxPixels (Upload__MaxPixels) must be a positive number of pixels.")]
    public long MaxPixels { get; set; } = 150_000_000;

    /// <summary>
    /// Memory one decode may hold, estimated from the header (format, interlacing, bit depth, bands)
    /// before any pixel is decoded. Progressive JPEG, interlaced PNG, GIF, WebP, AVIF, HEIC and
    /// single-strip TIFF hold the whole image; larger estimates are rejected per file. 512 MiB keeps
    /// the app under 1 GiB peak RSS with one such decode running (measured: docs/decisions/012-ingest-limits.md).
    /// </summary>
    [Range(1L, long.MaxValue, ErrorMessage = "Upload:MaxDecodeBytes (Upload__MaxDecodeBytes) must be a positive number of bytes.")]
    public long MaxDecodeBytes { get; set; } = 512L * 1024 * 1024;

    /// <summary>One upload request, all its files together; larger requests answer 413.</summary>
    [Range(1L, long.MaxValue, ErrorMessage = "Upload:MaxRequestBytes (Upload__MaxRequestBytes) must be a positive number of bytes.")]
    public long MaxRequestBytes { get; set; } = 2L * 1024 * 1024 * 1024;

    /// <summary>
    /// Files parts in one multipart request; more answer 413 and nothing is stored. Every part costs
    /// a temporary file, a hash and a decode before any answer, so one request must not carry thousands.
    /// </summary>
    [Range(1, 100_000, ErrorMessage = "Upload:MaxFilesPerRequest (Upload__MaxFilesPerRequest) must be between 1 and 100000.")]
    public int MaxFilesPerRequest { get; set; } = 100;

    /// <summary>How long an unfinished resumable (tus) upload waits for its next chunk before it and its bytes are removed.</summary>
    [Range(1, 24 * 365, ErrorMessage = "Upload:ResumableExpiryHours (Upload__ResumableExpiryHours) must be between 1 and 8760 hours.")]
    public int ResumableExpiryHours { get; set; } = 24;

    /// <summary>
    /// Unfinished resumable uploads one account may hold at once; a creation past it is refused (403).
    /// The browser keeps three going, so 200 leaves room for many tabs while bounding what one account parks.
    /// </summary>
    [Range(1, 100_000, ErrorMessage = "Upload:MaxUnfinishedPerUser (Upload__MaxUnfinishedPerUser) must be between 1 and 100000.")]
    public int MaxUnfinishedPerUser { get; set; } = 200;
}

public enum AnalysisProvider
{
    Local,
    OpenAI,
}

public sealed class AnalysisOptions
{
    public const string SectionName = "Analysis";

    [EnumDataType(typeof(AnalysisProvider), ErrorMessage = "Analysis:Provider (Analysis__Provider) must be Local or OpenAI.")]
    public AnalysisProvider Provider { get; set; } = AnalysisProvider.Local;

    [Required(ErrorMessage = "Analysis:Endpoint (Analysis__Endpoint) must be an absolute http(s) URL.")]
    public Uri Endpoint { get; set; } = new("https://api.openai.com/v1");

    public string? ApiKey { get; set; }

    [Required(AllowEmptyStrings = false, ErrorMessage = "Analysis:Model (Analysis__Model) must name a model.")]
    public string Model { get; set; } = "gpt-4o-mini";

    [Range(1, 100_000, ErrorMessage = "Analysis:RequestsPerMinute (Analysis__RequestsPerMinute) must be between 1 and 100000.")]
    public int RequestsPerMinute { get; set; } = 60;

    [Range(1, 3600, ErrorMessage = "Analysis:TimeoutSeconds (Analysis__TimeoutSeconds) must be between 1 and 3600.")]
    public int TimeoutSeconds { get; set; } = 60;

    [Range(1, 10, ErrorMessage = "Analysis:Tier2MinQuality (Analysis__Tier2MinQuality) must be between 1 and 10.")]
    public int Tier2MinQuality { get; set; } = 7;

    [Range(1, 1_000_000, ErrorMessage = "Analysis:Tier3MinLongEdge (Analysis__Tier3MinLongEdge) must be a positive number of pixels.")]
    public int Tier3MinLongEdge { get; set; } = 3000;

    /// <summary>Once a provider is judged unavailable, how long before one probe call tests it again.</summary>
    [Range(1, 3600, ErrorMessage = "Analysis:BreakSeconds (Analysis__BreakSeconds) must be between 1 and 3600.")]
    public int BreakSeconds { get; set; } = 30;

    /// <summary>How the primary provider is named in results, alerts and the admin page.</summary>
    public string Name { get; set; } = "OpenAI";

    /// <summary>
    /// False: only a near-duplicate stack's best is sent to the provider; the others take its category and angle
    /// (source inherited) with no call (Embeddings/StackedAnalysis).
    /// </summary>
    public bool AnalyzeStackedPhotos { get; set; } = true;

    /// <summary>OpenAI-compatible providers tried in order when the ones before them are unavailable.</summary>
    public List<FallbackProviderOptions> Fallbacks { get; set; } = [];
}

/// <summary>One provider of the chain after the primary; an unset rate or timeout takes the primary's.</summary>
public sealed class FallbackProviderOptions
{
    public Uri? Endpoint { get; set; }

    public string? Model { get; set; }

    public string? ApiKey { get; set; }

    public int? RequestsPerMinute { get; set; }

    public int? TimeoutSeconds { get; set; }

    /// <summary>Defaults to "fallback-N" (N from 1).</summary>
    public string? Name { get; set; }
}

public sealed class ProcessingOptions
{
    public const string SectionName = "Processing";
    public static readonly int[] DefaultRetryDelaysSeconds = [5, 15, 60];

    [Range(0, 256, ErrorMessage = "Processing:Workers (Processing__Workers) must be between 0 and 256.")]
    public int Workers { get; set; } = 4;

    [Range(1, 100, ErrorMessage = "Processing:MaxAttempts (Processing__MaxAttempts) must be between 1 and 100.")]
    public int MaxAttempts { get; set; } = 4;

    /// <summary>
    /// Delay before retry 1, 2, 3…; the last one repeats when there are more retries than entries.
    /// Null until bound: the configuration binder appends to an array that already has items, so the
    /// default is filled in after binding (see <see cref="ProcessingOptionsSetup"/>).
    /// </summary>
    public int[]? RetryDelaysSeconds { get; set; }

    [Range(5, 3600, ErrorMessage = "Processing:LeaseSeconds (Processing__LeaseSeconds) must be between 5 and 3600.")]
    public int LeaseSeconds { get; set; } = 60;

    /// <summary>The configured delays, or the defaults when none are set; the last one repeats.</summary>
    public int[] EffectiveRetryDelaysSeconds => RetryDelaysSeconds is { Length: > 0 } d ? d : DefaultRetryDelaysSeconds;

    public TimeSpan RetryDelay(int retryNumber)
    {
        var delays = EffectiveRetryDelaysSeconds;
        return TimeSpan.FromSeconds(delays[Math.Clamp(retryNumber - 1, 0, delays.Length - 1)]);
    }
}

public sealed class AlertsOptions
{
    public const string SectionName = "Alerts";

    public Uri? WebhookUrl { get; set; }
}

/// <summary>How fast one client may call what is cheap to call and costly to answer (see ADR 008).</summary>
public sealed class RateLimitOptions
{
    public const string SectionName = "RateLimits";

    /// <summary>Sign-in, register and refresh calls per client address per minute; 0 = no limit (a proxy in front limits instead).</summary>
    [Range(0, 100_000, ErrorMessage = "RateLimits:AuthPerMinute (RateLimits__AuthPerMinute) must be between 0 (no limit) and 100000.")]
    public int AuthPerMinute { get; set; } = 20;

    /// <summary>
    /// Upload requests per user per minute; 0 = no limit. The browser sends one file per request, two
    /// at a time, and waits out a 429 by itself. 120 (two a second) is more than a person's uploads need
    /// on most connections and about what one core decodes, so one account cannot take every decode slot
    /// from the others; volume is for the quotas, not for this.
    /// </summary>
    [Range(0, 100_000, ErrorMessage = "RateLimits:UploadsPerMinute (RateLimits__UploadsPerMinute) must be between 0 (no limit) and 100000.")]
    public int UploadsPerMinute { get; set; } = 120;

    /// <summary>
    /// Resumable-upload PATCH requests (chunks) per user per minute; 0 = no limit. The browser sends 4 MiB
    /// chunks three at a time, so 1200 (20 a second) is about 80 MiB/s per account: no honest client meets
    /// it, while a flood of tiny or empty chunks does.
    /// </summary>
    [Range(0, 100_000, ErrorMessage = "RateLimits:UploadPatchesPerMinute (RateLimits__UploadPatchesPerMinute) must be between 0 (no limit) and 100000.")]
    public int UploadPatchesPerMinute { get; set; } = 1200;

    /// <summary>
    /// Owner re-analysis calls (<c>POST /api/vehicles/{id}/reanalyze</c>) per user per hour; 0 = no limit. Each call
    /// queues every analysed photo of a vehicle for the provider again, so a few an hour is plenty for a person.
    /// </summary>
    [Range(0, 100_000, ErrorMessage = "RateLimits:ReanalyzePerHour (RateLimits__ReanalyzePerHour) must be between 0 (no limit) and 100000.")]
    public int ReanalyzePerHour { get; set; } = 10;

    /// <summary>
    /// Requests to share pages (<c>/s/{token}</c>) and their images per client address per minute; 0 = no limit. A page
    /// view is one page and its visible thumbnails (a few dozen requests), so 300 lets a visitor browse freely while a
    /// stranger hammering one link meets it within seconds.
    /// </summary>
    [Range(0, 100_000, ErrorMessage = "RateLimits:SharePerMinute (RateLimits__SharePerMinute) must be between 0 (no limit) and 100000.")]
    public int SharePerMinute { get; set; } = 300;
}

/// <summary>
/// Which proxies may tell us the client's address (X-Forwarded-For) and scheme (X-Forwarded-Proto).
/// With neither list set, a proxy on loopback (the same machine) is believed and every other sender's
/// headers are ignored; with either set, only the proxies named. Either list takes array entries
/// (<c>ForwardedHeaders__KnownProxies__0=10.0.0.2</c>) or one comma-separated value.
/// </summary>
public sealed class ForwardedHeadersSettings
{
    public const string SectionName = "ForwardedHeaders";

    /// <summary>Addresses of the proxies, e.g. <c>10.0.0.2</c>.</summary>
    public List<string> KnownProxies { get; set; } = [];

    /// <summary>Networks the proxies are in, in CIDR form, e.g. <c>10.0.0.0/8</c>.</summary>
    public List<string> KnownNetworks { get; set; } = [];
}

/// <summary>What goes into an automatic listing (shared/CONTRACT.md, "Listings and export").</summary>
public sealed class ListingOptions
{
    public const string SectionName = "Listing";

    /// <summary>Analysed photos below this quality_score (1-10) stay out of an automatic listing.</summary>
    [Range(1, 10, ErrorMessage = "Listing:MinQuality (Listing__MinQuality) must be a quality score from 1 to 10.")]
    public int MinQuality { get; set; } = 5;

    /// <summary>An automatic listing holds at most this many photos.</summary>
    [Range(1, 10_000, ErrorMessage = "Listing:MaxPhotos (Listing__MaxPhotos) must be between 1 and 10000.")]
    public int MaxPhotos { get; set; } = 40;
}

/// <summary>How many zip exports run at once (shared/CONTRACT.md, "Listings and export").</summary>
public sealed class ExportOptions
{
    public const string SectionName = "Export";

    /// <summary>The owner's own exports running at once; 429 with Retry-After above it.</summary>
    [Range(1, 100, ErrorMessage = "Export:ConcurrentPerUser (Export__ConcurrentPerUser) must be between 1 and 100.")]
    public int ConcurrentPerUser { get; set; } = 2;

    /// <summary>Downloads through one share link running at once (a separate pool from the owner's).</summary>
    [Range(1, 100, ErrorMessage = "Export:ConcurrentPerShare (Export__ConcurrentPerShare) must be between 1 and 100.")]
    public int ConcurrentPerShare { get; set; } = 2;
}

/// <summary>What one account may keep and spend (see ADR 008). 0 = unlimited, the default for each.</summary>
public sealed class QuotaOptions
{
    public const string SectionName = "Quotas";

    /// <summary>Bytes of original photos one account may keep (variants are not counted).</summary>
    [Range(0L, long.MaxValue, ErrorMessage = "Quotas:MaxStoredBytes (Quotas__MaxStoredBytes) must be 0 (unlimited) or a number of bytes.")]
    public long MaxStoredBytes { get; set; }

    /// <summary>Photos one account may upload per day (UTC); deleting a photo does not give its place back.</summary>
    [Range(0, int.MaxValue, ErrorMessage = "Quotas:PhotosPerDay (Quotas__PhotosPerDay) must be 0 (unlimited) or a number of photos.")]
    public int PhotosPerDay { get; set; }

    /// <summary>Analysis provider calls per account per day (UTC); over it, that account's photos wait as pending.</summary>
    [Range(0, int.MaxValue, ErrorMessage = "Quotas:ProviderCallsPerDay (Quotas__ProviderCallsPerDay) must be 0 (unlimited) or a number of calls.")]
    public int ProviderCallsPerDay { get; set; }
}

public enum RegistrationMode
{
    /// <summary>Anyone may create an account.</summary>
    Open,

    /// <summary>Only with an unused, unexpired invitation an admin created.</summary>
    Invite,

    /// <summary>Nobody, except the very first account of a fresh install.</summary>
    Closed,
}

public sealed class AccountOptions
{
    public const string SectionName = "Accounts";

    [EnumDataType(typeof(RegistrationMode), ErrorMessage = "Accounts:Registration (Accounts__Registration) must be open, invite or closed.")]
    public RegistrationMode Registration { get; set; } = RegistrationMode.Open;

    /// <summary>How long an invitation link stays valid.</summary>
    [Range(1, 365, ErrorMessage = "Accounts:InvitationDays (Accounts__InvitationDays) must be between 1 and 365.")]
    public int InvitationDays { get; set; } = 7;

    /// <summary>How often an open page re-checks its user (still there, same security stamp, same admin role).</summary>
    [Range(1, 3600, ErrorMessage = "Accounts:RevalidateSeconds (Accounts__RevalidateSeconds) must be between 1 and 3600.")]
    public int RevalidateSeconds { get; set; } = 30;
}
