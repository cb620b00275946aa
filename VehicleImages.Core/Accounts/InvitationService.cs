using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using VehicleImages.Core.Configuration;
using VehicleImages.Core.Data;

namespace VehicleImages.Core.Accounts;

/// <summary>A new invitation: the token goes into the link and is shown once; only its hash is stored.</summary>
public sealed record CreatedInvitation(string Token, DateTimeOffset ExpiresAt);

/// <summary>Creates invitations for admins (from the API or the admin page: one context per call).</summary>
public sealed class InvitationService(IDbContextFactory<VehicleImagesDbContext> contexts, IOptions<AccountOptions> options, TimeProvider time)
{
    public RegistrationMode Mode => options.Value.Registration;

    public async Task<CreatedInvitation> CreateAsync(Guid createdBy, CancellationToken cancellationToken)
    {
        // 256 random bits, URL-safe: nobody guesses one, and it survives being pasted into a link.
        var token = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        var now = time.GetUtcNow();
        var invitation = new Invitation
        {
            Id = Guid.CreateVersion7(),
            TokenHash = Hash(token),
            CreatedBy = createdBy,
            CreatedAt = now,
            ExpiresAt = now.AddDays(options.Value.InvitationDays),
        };
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        db.Invitations.Add(invitation);
        await db.SaveChangesAsync(cancellationToken);
        return new CreatedInvitation(token, invitation.ExpiresAt);
    }

    public static string Hash(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token.Trim())));
}
