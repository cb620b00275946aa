using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using VehicleImages.Core.Configuration;
using VehicleImages.Core.Data;

namespace VehicleImages.Core.Accounts;

/// <summary>
/// An account, or why not; <see cref="NotAllowed"/> when the registration mode refused it (403) rather than the input (400);
/// <see cref="AddressTaken"/> when the address has an account already (the API answers that exactly as a success).
/// </summary>
public sealed record RegistrationResult(AppUser? User, IReadOnlyList<string> Errors, bool NotAllowed = false, bool AddressTaken = false)
{
    public bool Succeeded => User is not null;

    public static RegistrationResult Refused(string reason) => new(null, [reason], NotAllowed: true);
}

/// <summary>What the register page may offer: the mode, and whether this would be the very first account.</summary>
public sealed record RegistrationState(RegistrationMode Mode, bool FirstAccount)
{
    /// <summary>The first account can always register, so that a fresh install is usable.</summary>
    public bool IsOpen => Mode == RegistrationMode.Open || FirstAccount;
}

/// <summary>
/// Creates accounts; the first account ever registered becomes the Admin. Accounts:Registration
/// decides who else may: anyone (open), holders of an unused, unexpired invitation (invite), or nobody
/// (closed). The first account of a fresh install is always allowed.
/// </summary>
public sealed class AccountService(
    UserManager<AppUser> users, RoleManager<IdentityRole<Guid>> roles, VehicleImagesDbContext db, IOptions<AccountOptions> options, TimeProvider time)
{
    public const string ClosedReason = "Registration is closed on this server. Ask its administrator for an account.";
    public const string TakenReason = "This address cannot be registered. If it is yours, sign in instead.";
    public const string InvitationNeededReason = "Registration is by invitation only. Open the invitation link an administrator sent you.";

    public async Task<RegistrationState> StateAsync(CancellationToken cancellationToken = default) =>
        new(options.Value.Registration, !await db.Users.AnyAsync(cancellationToken));

    public async Task<RegistrationResult> RegisterAsync(string email, string password, string? invitation = null, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrWhiteSpace(email) || !email.Contains('@'))
            return new(null, ["Enter a valid email address."]);

        var strategy = db.Database.CreateExecutionStrategy();
        return await strategy.ExecuteAsync(async () =>
        {
            await using var tx = await db.Database.BeginTransactionAsync(cancellationToken);
            // One registration at a time: two first sign-ups cannot both become Admin, and two sign-ups
            // with the same invitation cannot both use it.
            await AdvisoryLocks.LockAsync(db, AdvisoryLocks.Registration, cancellationToken);

            var isFirst = !await db.Users.AnyAsync(cancellationToken);
            Invitation? invited = null;
            if (!isFirst && options.Value.Registration != RegistrationMode.Open)
            {
                if (options.Value.Registration == RegistrationMode.Closed)
                    return RegistrationResult.Refused(ClosedReason);
                if (string.IsNullOrWhiteSpace(invitation))
                    return RegistrationResult.Refused(InvitationNeededReason);
                var hash = InvitationService.Hash(invitation);
                invited = await db.Invitations.SingleOrDefaultAsync(i => i.TokenHash == hash, cancellationToken);
                if (InvitationProblem(invited) is { } problem)
                    return RegistrationResult.Refused(problem);
            }

            var user = new AppUser { UserName = email.Trim(), Email = email.Trim() };
            // Identity checks and hashes the password before it looks for the address, so a taken address costs the
            // same as a free one and answers the same password errors; the transaction is never committed.
            var created = await users.CreateAsync(user, password);
            if (!created.Succeeded && created.Errors.All(e => e.Code is nameof(IdentityErrorDescriber.DuplicateUserName) or nameof(IdentityErrorDescriber.DuplicateEmail)))
                return new RegistrationResult(null, [TakenReason], AddressTaken: true);
            if (!created.Succeeded)
                return new RegistrationResult(null, created.Errors.Select(e => e.Description).ToList());

            var role = isFirst ? Roles.Admin : Roles.User;
            await EnsureRoleAsync(role);
            var added = await users.AddToRoleAsync(user, role);
            if (!added.Succeeded)
                return new RegistrationResult(null, added.Errors.Select(e => e.Description).ToList());

            if (invited is not null)
            {
                (invited.UsedAt, invited.UsedBy) = (time.GetUtcNow(), user.Id);
                await db.SaveChangesAsync(cancellationToken);
            }

            await tx.CommitAsync(cancellationToken);
            return new RegistrationResult(user, []);
        });
    }

    private string? InvitationProblem(Invitation? invitation) => invitation switch
    {
        null => "This invitation link is not valid. Check that the whole link was copied, or ask an administrator for a new one.",
        { UsedAt: not null } => "This invitation has already been used. Ask an administrator for a new one.",
        _ when invitation.ExpiresAt <= time.GetUtcNow() => "This invitation has expired. Ask an administrator for a new one.",
        _ => null,
    };

    private async Task EnsureRoleAsync(string role)
    {
        if (!await roles.RoleExistsAsync(role))
            await roles.CreateAsync(new IdentityRole<Guid>(role));
    }
}
