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

internal sealed class UrlOptionsValidation : IValidateOptions<AnalysisOptions>, IValidateOptions<AlertsOptions>
{
    public ValidateOptionsResult Validate(string? name, AnalysisOptions options) =>
        IsHttp(options.Endpoint)
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail("Analysis:Endpoint (Analysis__Endpoint) must be an absolute http(s) URL.");

    public ValidateOptionsResult Validate(string? name, AlertsOptions options) =>
        options.WebhookUrl is null || IsHttp(options.WebhookUrl)
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail("Alerts:WebhookUrl (Alerts__WebhookUrl) must be an absolute http(s) URL.");

    private static bool IsHttp(Uri? uri) =>
        uri is { IsAbsoluteUri: true } && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps);
}
