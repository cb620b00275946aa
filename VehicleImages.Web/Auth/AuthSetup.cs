using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.BearerToken;
using Microsoft.AspNetCore.Identity;
using VehicleImages.Core.Accounts;
using VehicleImages.Core.Data;
using VehicleImages.Core.Images;

namespace VehicleImages.Web.Auth;

public static class Policies
{
    public const string Admin = "Admin";
}

internal static class AuthSetup
{
    // Chooses per request: a bearer token when the caller sends one (API clients, SignalR clients
    // with access_token), the Identity cookie otherwise (the browser).
    private const string CookieOrBearer = "CookieOrBearer";

    public static void AddVehicleImagesAuth(this IServiceCollection services)
    {
        services.AddAuthentication(o =>
            {
                o.DefaultScheme = CookieOrBearer;
                o.DefaultChallengeScheme = CookieOrBearer;
            })
            .AddPolicyScheme(CookieOrBearer, "Cookie or bearer token", o => o.ForwardDefaultSelector = SelectScheme)
            .AddBearerToken(IdentityConstants.BearerScheme, o =>
            {
                o.Events = new BearerTokenEvents
                {
                    // Browsers cannot set headers on WebSocket requests: SignalR sends the token in the query.
                    OnMessageReceived = context =>
                    {
                        var token = context.Request.Query["access_token"];
                        if (!string.IsNullOrEmpty(token) && context.Request.Path.StartsWithSegments("/hubs"))
                            context.Token = token;
                        return Task.CompletedTask;
                    },
                };
            })
            .AddIdentityCookies(cookies => cookies.ApplicationCookie?.Configure(o =>
            {
                o.LoginPath = "/account/login";
                o.LogoutPath = "/account/logout";
                o.AccessDeniedPath = "/account/access-denied";
                o.Cookie.Name = "VehicleImages.Auth";
                o.Cookie.HttpOnly = true;
                o.Cookie.SameSite = SameSiteMode.Lax;
                o.SlidingExpiration = true;
                // An API caller wants a status code, not a login page.
                o.Events.OnRedirectToLogin = context => StatusOrRedirect(context, StatusCodes.Status401Unauthorized);
                o.Events.OnRedirectToAccessDenied = context => StatusOrRedirect(context, StatusCodes.Status403Forbidden);
            }));

        services.AddIdentityCore<AppUser>(o =>
            {
                o.User.RequireUniqueEmail = true;
                o.Password.RequiredLength = 8;
                o.Password.RequireNonAlphanumeric = false;
                o.Password.RequireUppercase = false;
                // No per-account lockout (sign-ins pass lockoutOnFailure: false): a stranger could lock the owner out.
                // Failures lock an account for the address they came from only (SignInLockout).
            })
            .AddRoles<IdentityRole<Guid>>()
            .AddEntityFrameworkStores<VehicleImagesDbContext>()
            .AddSignInManager()
            .AddDefaultTokenProviders();

        services.AddAuthorizationBuilder()
            .AddPolicy(Policies.Admin, p => p.RequireRole(Roles.Admin).AddRequirements(new StillAdminRequirement()));
        services.AddSingleton<Microsoft.AspNetCore.Authorization.IAuthorizationHandler, StillAdminHandler>();
        services.AddCascadingAuthenticationState();
        services.AddScoped<Microsoft.AspNetCore.Components.Authorization.AuthenticationStateProvider, RevalidatingIdentityStateProvider>();
        services.AddScoped<AdminGuard>();
        services.AddScoped<AccountService>();
        services.AddScoped<AccountRoles>();
        services.AddSingleton<IClaimsTransformation, AdminClaimFromDatabase>();
        services.AddSingleton<SignInLockout>();
        services.AddSingleton<HubAdmins>();
        services.AddHostedService(sp => sp.GetRequiredService<HubAdmins>());
    }

    private static string SelectScheme(HttpContext context)
    {
        var authorization = context.Request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            return IdentityConstants.BearerScheme;
        if (context.Request.Path.StartsWithSegments("/hubs") && context.Request.Query.ContainsKey("access_token"))
            return IdentityConstants.BearerScheme;
        return IdentityConstants.ApplicationScheme;
    }

    private static Task StatusOrRedirect(RedirectContext<Microsoft.AspNetCore.Authentication.Cookies.CookieAuthenticationOptions> context, int status)
    {
        if (IsApi(context.Request))
        {
            context.Response.StatusCode = status;
            return Task.CompletedTask;
        }

        context.Response.Redirect(context.RedirectUri);
        return Task.CompletedTask;
    }

    internal static bool IsApi(HttpRequest request) =>
        request.Path.StartsWithSegments("/api") || request.Path.StartsWithSegments("/hubs");

    /// <summary>
    /// Who is asking, as the image services see it: owners reach their own photos, admins every photo. The
    /// Admin role on a request's principal has been checked against the database (<see cref="AdminClaimFromDatabase"/>).
    /// </summary>
    public static Caller Caller(this ClaimsPrincipal user) => new(user.UserId(), user.IsInRole(Roles.Admin));

    public static Guid UserId(this ClaimsPrincipal user) =>
        Guid.TryParse(user.FindFirstValue(ClaimTypes.NameIdentifier), out var id)
            ? id
            : throw new InvalidOperationException("The caller has no user id claim.");
}
