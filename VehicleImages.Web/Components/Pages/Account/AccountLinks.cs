namespace VehicleImages.Web.Components.Pages.Account;

internal static class AccountLinks
{
    /// <summary>Only a path inside this site: a return URL must never send someone elsewhere.</summary>
    public static string SafeReturnUrl(string? returnUrl)
    {
        if (string.IsNullOrWhiteSpace(returnUrl))
            return "/";
        var path = returnUrl.StartsWith('/') ? returnUrl : "/" + returnUrl;
        return path.StartsWith("//") || path.StartsWith("/\\") || path.Contains("://") ? "/" : path;
    }
}
