using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace VehicleImages.Core.Configuration;

/// <summary>Fills the retry schedule's default after binding and checks what attributes cannot say.</summary>
internal sealed class ProcessingOptionsSetup : IPostConfigureOptions<ProcessingOptions>, IValidateOptions<ProcessingOptions>
{
    public void PostConfigure(string? name, ProcessingOptions options)
    {
        if (options.RetryDelaysSeconds is not { Length: > 0 })
            options.RetryDelaysSeconds = [.. ProcessingOptions.DefaultRetryDelaysSeconds];
    }

    public ValidateOptionsResult Validate(string? name, ProcessingOptions options) =>
        options.RetryDelaysSeconds!.Any(d => d is < 0 or > 86_400)
            ? ValidateOptionsResult.Fail(
                "Processing:RetryDelaysSeconds (Processing__RetryDelaysSeconds__0, __1, …) must be seconds between 0 and 86400.")
            : ValidateOptionsResult.Success;
}

/// <summary>With Storage:Provider=S3 the S3 keys must be set; the message names each missing one.</summary>
internal sealed class StorageOptionsValidation : IValidateOptions<StorageOptions>
{
    public ValidateOptionsResult Validate(string? name, StorageOptions options)
    {
        if (options.Provider != StorageProvider.S3)
            return ValidateOptionsResult.Success;
        var s3 = options.S3;
        var errors = new List<string>();
        if (s3.ServiceUrl is { } url && !(url.IsAbsoluteUri && (url.Scheme == Uri.UriSchemeHttp || url.Scheme == Uri.UriSchemeHttps)))
            errors.Add("Storage:S3:ServiceUrl (Storage__S3__ServiceUrl) must be an absolute http(s) URL, e.g. http://127.0.0.1:9000.");
        if (string.IsNullOrWhiteSpace(s3.Bucket))
            errors.Add("Storage:S3:Bucket (Storage__S3__Bucket) must name the bucket when Storage:Provider is S3.");
        else if (!System.Text.RegularExpressions.Regex.IsMatch(s3.Bucket, "^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"))
            errors.Add($"Storage:S3:Bucket (Storage__S3__Bucket) '{s3.Bucket}' is not a valid bucket name (3-63 lower-case letters, digits, dots and hyphens).");
        if (string.IsNullOrWhiteSpace(s3.AccessKey) != string.IsNullOrWhiteSpace(s3.SecretKey))
            errors.Add(string.IsNullOrWhiteSpace(s3.AccessKey)
                ? "Storage:S3:AccessKey (Storage__S3__AccessKey) must be set when Storage:S3:SecretKey is."
                : "Storage:S3:SecretKey (Storage__S3__SecretKey) must be set when Storage:S3:AccessKey is.");
        if (string.IsNullOrWhiteSpace(s3.Region))
            errors.Add("Storage:S3:Region (Storage__S3__Region) must name a region (any name for a service that ignores it; default us-east-1).");
        if (s3.TimeoutSeconds is < 1 or > 3600)
            errors.Add("Storage:S3:TimeoutSeconds (Storage__S3__TimeoutSeconds) must be between 1 and 3600.");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

internal sealed class UrlOptionsValidation : IValidateOptions<AnalysisOptions>, IValidateOptions<AlertsOptions>
{
    public ValidateOptionsResult Validate(string? name, AnalysisOptions options)
    {
        var errors = new List<string>();
        if (!IsHttp(options.Endpoint))
            errors.Add("Analysis:Endpoint (Analysis__Endpoint) must be an absolute http(s) URL.");
        for (var i = 0; i < options.Fallbacks.Count; i++)
        {
            var f = options.Fallbacks[i];
            if (!IsHttp(f.Endpoint))
                errors.Add($"Analysis:Fallbacks:{i}:Endpoint (Analysis__Fallbacks__{i}__Endpoint) must be an absolute http(s) URL.");
            if (string.IsNullOrWhiteSpace(f.Model))
                errors.Add($"Analysis:Fallbacks:{i}:Model (Analysis__Fallbacks__{i}__Model) must name a model.");
            if (f.RequestsPerMinute is < 1 or > 100_000)
                errors.Add($"Analysis:Fallbacks:{i}:RequestsPerMinute (Analysis__Fallbacks__{i}__RequestsPerMinute) must be between 1 and 100000.");
            if (f.TimeoutSeconds is < 1 or > 3600)
                errors.Add($"Analysis:Fallbacks:{i}:TimeoutSeconds (Analysis__Fallbacks__{i}__TimeoutSeconds) must be between 1 and 3600.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    public ValidateOptionsResult Validate(string? name, AlertsOptions options) =>
        options.WebhookUrl is null || IsHttp(options.WebhookUrl)
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail("Alerts:WebhookUrl (Alerts__WebhookUrl) must be an absolute http(s) URL.");

    private static bool IsHttp(Uri? uri) =>
        uri is { IsAbsoluteUri: true } && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps);
}

/// <summary>
/// Lets each proxy list be one comma-separated value (the handy environment form) as well as an
/// array, and checks that every entry parses: a typo here would silently trust nobody, or the wrong network.
/// </summary>
internal sealed class ForwardedHeadersSetup(IConfiguration configuration)
    : IPostConfigureOptions<ForwardedHeadersSettings>, IValidateOptions<ForwardedHeadersSettings>
{
    public void PostConfigure(string? name, ForwardedHeadersSettings options)
    {
        options.KnownProxies = Entries(options.KnownProxies, nameof(options.KnownProxies));
        options.KnownNetworks = Entries(options.KnownNetworks, nameof(options.KnownNetworks));
    }

    public ValidateOptionsResult Validate(string? name, ForwardedHeadersSettings options)
    {
        var errors = new List<string>();
        foreach (var proxy in options.KnownProxies.Where(p => !System.Net.IPAddress.TryParse(p, out _)))
            errors.Add($"ForwardedHeaders:KnownProxies (ForwardedHeaders__KnownProxies) has '{proxy}', which is not an IP address.");
        foreach (var network in options.KnownNetworks.Where(n => !System.Net.IPNetwork.TryParse(n, out _)))
            errors.Add($"ForwardedHeaders:KnownNetworks (ForwardedHeaders__KnownNetworks) has '{network}', which is not a network in CIDR form (e.g. 10.0.0.0/8).");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private List<string> Entries(List<string> bound, string key)
    {
        var scalar = configuration.GetSection($"{ForwardedHeadersSettings.SectionName}:{key}").Value;
        return bound.Append(scalar ?? "")
            .SelectMany(e => e.Split([',', ' ', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            .Distinct()
            .ToList();
    }
}
