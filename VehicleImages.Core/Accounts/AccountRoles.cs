using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using VehicleImages.Core.Data;
using VehicleImages.Core.Processing;
using VehicleImages.Core.Processing.Events;

namespace VehicleImages.Core.Accounts;

public enum RoleChangeOutcome
{
    Changed,

    /// <summary>The account already had that role: nothing changed.</summary>
    Unchanged,

    NotFound,

    /// <summary>The one asking is no longer an Admin (demoted meanwhile).</summary>
    NotAllowed,

    /// <summary>Demoting this account would leave no Admin.</summary>
    LastAdmin,
}

public sealed record AccountRole(Guid Id, string Email, bool IsAdmin);

/// <summary>
/// Promotes and demotes accounts. Each change is decided in one transaction under one advisory lock:
/// the one asking must still be an Admin, and the last Admin cannot be demoted, so two admins demoting
/// each other at once leave one. A demotion rotates the account's security stamp (its refresh tokens
/// stop working and its cookies are re-checked) and every instance hears of the change (NOTIFY) to take
/// the account's open live connections out of the admins' group. Vehicles and photos are untouched.
/// </summary>
public sealed class AccountRoles(UserManager<AppUser> users, RoleManager<IdentityRole<Guid>> roles, VehicleImagesDbContext db)
{
    public const string LastAdminReason =
        "This is the last administrator account; promote another account first, so that someone can still run the server.";

    public const string NotAllowedReason = "Only administrators can change roles. Your account is no longer an administrator.";

    public async Task<IReadOnlyList<AccountRole>> ListAsync(CancellationToken cancellationToken = default) =>
        await QueryAsync(db.Users.OrderBy(u => u.Email), cancellationToken);

    public async Task<AccountRole?> GetAsync(Guid userId, CancellationToken cancellationToken = default) =>
        (await QueryAsync(db.Users.Where(u => u.Id == userId), cancellationToken)).SingleOrDefault();

    private async Task<List<AccountRole>> QueryAsync(IQueryable<AppUser> accounts, CancellationToken cancellationToken)
    {
        var adminRole = await db.Roles.Where(r => r.Name == Roles.Admin).Select(r => (Guid?)r.Id).SingleOrDefaultAsync(cancellationToken);
        return await accounts.AsNoTracking()
            .Select(u => new AccountRole(u.Id, u.Email ?? u.UserName ?? "", db.UserRoles.Any(ur => ur.UserId == u.Id && ur.RoleId == adminRole)))
            .ToListAsync(cancellationToken);
    }

    /// <summary>Gives <paramref name="userId"/> the role <see cref="Roles.Admin"/> or <see cref="Roles.User"/>, as <paramref name="actorId"/> asks.</summary>
    public async Task<RoleChangeOutcome> SetRoleAsync(Guid actorId, Guid userId, bool admin, CancellationToken cancellationToken = default)
    {
        var strategy = db.Database.CreateExecutionStrategy();
        return await strategy.ExecuteAsync(async () =>
        {
            await using var tx = await db.Database.BeginTransactionAsync(cancellationToken);
            await AdvisoryLocks.LockAsync(db, AdvisoryLocks.Roles, cancellationToken);

            var adminRole = await db.Roles.Where(r => r.Name == Roles.Admin).Select(r => (Guid?)r.Id).SingleOrDefaultAsync(cancellationToken);
            var currentAdmins = adminRole is null
                ? []
                : await db.UserRoles.Where(ur => ur.RoleId == adminRole).Select(ur => ur.UserId).ToListAsync(cancellationToken);
            if (!currentAdmins.Contains(actorId))
                return RoleChangeOutcome.NotAllowed;
            var user = await users.FindByIdAsync(userId.ToString());
            if (user is null)
                return RoleChangeOutcome.NotFound;
            var isAdmin = currentAdmins.Contains(userId);
            if (isAdmin == admin)
                return RoleChangeOutcome.Unchanged;
            if (!admin && currentAdmins.Count <= 1)
                return RoleChangeOutcome.LastAdmin;

            var (from, to) = admin ? (Roles.User, Roles.Admin) : (Roles.Admin, Roles.User);
            if (!await roles.RoleExistsAsync(to))
                await roles.CreateAsync(new IdentityRole<Guid>(to));
            if (await users.IsInRoleAsync(user, from))
                Check(await users.RemoveFromRoleAsync(user, from));
            Check(await users.AddToRoleAsync(user, to));
            if (!admin)
                Check(await users.UpdateSecurityStampAsync(user));
            await db.Database.ExecuteSqlAsync($"SELECT pg_notify({ProcessingChannels.AccountRoles}, {$"{userId}:{to}"})", cancellationToken);
            await tx.CommitAsync(cancellationToken);
            return RoleChangeOutcome.Changed;
        });
    }

    private static void Check(IdentityResult result)
    {
        if (!result.Succeeded)
            throw new InvalidOperationException(string.Join(" ", result.Errors.Select(e => e.Description)));
    }
}
