using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using VehicleImages.Core.Data;

namespace VehicleImages.Core.Accounts;

public sealed record RegistrationResult(AppUser? User, IReadOnlyList<string> Errors)
{
    public bool Succeeded => User is not null;
}

/// <summary>Creates accounts; the first account ever registered becomes the Admin.</summary>
public sealed class AccountService(UserManager<AppUser> users, RoleManager<IdentityRole<Guid>> roles, VehicleImagesDbContext db)
{
    public async Task<RegistrationResult> RegisterAsync(string email, string password, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrWhiteSpace(email) || !email.Contains('@'))
            return new(null, ["Enter a valid email address."]);

        var strategy = db.Database.CreateExecutionStrategy();
        return await strategy.ExecuteAsync(async () =>
        {
            await using var tx = await db.Database.BeginTransactionAsync(cancellationToken);
            await AdvisoryLocks.LockAsync(db, AdvisoryLocks.Registration, cancellationToken);

            var isFirst = !await db.Users.AnyAsync(cancellationToken);
            var user = new AppUser { UserName = email.Trim(), Email = email.Trim() };
            var created = await users.CreateAsync(user, password);
            if (!created.Succeeded)
                return new RegistrationResult(null, created.Errors.Select(e => e.Description).ToList());

            var role = isFirst ? Roles.Admin : Roles.User;
            await EnsureRoleAsync(role);
            var added = await users.AddToRoleAsync(user, role);
            if (!added.Succeeded)
                return new RegistrationResult(null, added.Errors.Select(e => e.Description).ToList());

            await tx.CommitAsync(cancellationToken);
            return new RegistrationResult(user, []);
        });
    }

    private async Task EnsureRoleAsync(string role)
    {
        if (!await roles.RoleExistsAsync(role))
            await roles.CreateAsync(new IdentityRole<Guid>(role));
    }
}
