using System.Collections.Concurrent;
using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using VehicleImages.Core.Accounts;
using VehicleImages.Core.Configuration;
using VehicleImages.Core.Processing;
using VehicleImages.Web.Hubs;
using VehicleImages.Core.Processing.Events;

namespace VehicleImages.Web.Auth;

/// <summary>
/// A cookie or token keeps the role it was issued with; the database is the truth. Every request whose
/// principal says Admin has that checked against the database, and loses the role when the database no
/// longer gives it: the image API's <see cref="AuthSetup.Caller"/>, the hub, /metrics and every
/// <c>IsInRole</c> see the demotion at once. A principal that does not say Admin costs nothing; a promotion
/// takes effect at the account's next sign-in (open pages are signed out within Accounts:RevalidateSeconds
/// to pick it up).
/// </summary>
internal sealed class AdminClaimFromDatabase(RoleCheck roles) : IClaimsTransformation
{
    public async Task<ClaimsPrincipal> TransformAsync(ClaimsPrincipal principal)
    {
        if (principal.Identity?.IsAuthenticated != true || !principal.IsInRole(Roles.Admin) ||
            !Guid.TryParse(principal.FindFirstValue(ClaimTypes.NameIdentifier), out var id) ||
            await roles.IsAdminAsync(id))
            return principal;

        var demoted = new ClaimsPrincipal();
        foreach (var identity in principal.Identities)
        {
            var copy = identity.Clone();
            foreach (var claim in copy.FindAll(c => c.Type == copy.RoleClaimType && c.Value == Roles.Admin).ToList())
                copy.RemoveClaim(claim);
            demoted.AddIdentity(copy);
        }

        return demoted;
    }
}

/// <summary>
/// The hub connections in the "admins" group, each re-checked against the database: when an account's
/// role changes (on any instance: NOTIFY account_roles) and every Accounts:RevalidateSeconds (for a
/// change made in the database directly). A connection whose account is no longer an Admin leaves the
/// group and stops receiving other users' events and the alerts.
/// </summary>
public sealed class HubAdmins(
    IHubContext<ProcessingHub> hub, RoleCheck roles, ProcessingEvents events, IOptions<AccountOptions> options, ILogger<HubAdmins> logger)
    : BackgroundService
{
    private readonly ConcurrentDictionary<string, Guid> _members = new();

    /// <summary>Adds the connection when its account is an Admin now; checks again after joining, so a demotion that raced the join is not missed.</summary>
    public async Task JoinIfAdminAsync(string connectionId, Guid userId, CancellationToken cancellationToken = default)
    {
        if (!await roles.IsAdminAsync(userId, cancellationToken))
            return;
        _members[connectionId] = userId;
        await hub.Groups.AddToGroupAsync(connectionId, ProcessingHub.Admins, cancellationToken);
        if (!await roles.IsAdminAsync(userId, cancellationToken))
            await DropAsync(connectionId, cancellationToken);
    }

    public void Leave(string connectionId) => _members.TryRemove(connectionId, out _);

    /// <summary>Re-checks the connections of <paramref name="userId"/> (or of everyone when null) and drops those no longer Admin.</summary>
    public async Task RecheckAsync(Guid? userId = null, CancellationToken cancellationToken = default)
    {
        var members = _members.Where(m => userId is null || m.Value == userId).ToList();
        if (members.Count == 0)
            return;
        var admins = await roles.AdminsAmongAsync(members.Select(m => m.Value).Distinct().ToList(), cancellationToken);
        foreach (var (connection, user) in members)
            if (!admins.Contains(user))
                await DropAsync(connection, cancellationToken);
    }

    private async Task DropAsync(string connectionId, CancellationToken cancellationToken)
    {
        _members.TryRemove(connectionId, out _);
        await hub.Groups.RemoveFromGroupAsync(connectionId, ProcessingHub.Admins, cancellationToken);
    }

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        events.AccountRoleChanged += OnRoleChanged;
        return base.StartAsync(cancellationToken);
    }

    public override Task StopAsync(CancellationToken cancellationToken)
    {
        events.AccountRoleChanged -= OnRoleChanged;
        return base.StopAsync(cancellationToken);
    }

    /// <summary>
    /// A demotion takes the account's connections out of the group inside the listener's callback: leaving
    /// completes at once for this instance's connections, so no status change announced after the demotion
    /// reaches them, whichever instance made it. A promotion counts from the account's next connection.
    /// </summary>
    private void OnRoleChanged(Guid userId, bool isAdmin)
    {
        if (isAdmin)
            return;
        foreach (var (connection, _) in _members.Where(m => m.Value == userId).ToList())
            _ = DropLoggedAsync(connection);
    }

    private async Task DropLoggedAsync(string connectionId)
    {
        try
        {
            await DropAsync(connectionId, CancellationToken.None);
        }
        catch (Exception e)
        {
            // The periodic re-check tries again.
            logger.LogWarning(e, "Taking a demoted admin's connection out of the admins' group failed");
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.Value.RevalidateSeconds));
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
                await RecheckLoggedAsync(null, stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task RecheckLoggedAsync(Guid? userId, CancellationToken cancellationToken)
    {
        try
        {
            await RecheckAsync(userId, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The next role change or the next period tries again.
            logger.LogWarning(e, "Re-checking the admins' live connections failed");
        }
    }
}
