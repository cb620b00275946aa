using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using VehicleImages.Core.Accounts;

namespace VehicleImages.Core.Data.Configurations;

internal sealed class InvitationConfiguration : IEntityTypeConfiguration<Invitation>
{
    public void Configure(EntityTypeBuilder<Invitation> b)
    {
        b.ToTable("invitations");
        b.Property(i => i.TokenHash).HasMaxLength(64).IsFixedLength();
        // Registration finds an invitation by its token's hash.
        b.HasIndex(i => i.TokenHash).IsUnique();
        b.Property(i => i.CreatedAt).HasDefaultValueSql("now()");
        b.HasOne<AppUser>().WithMany().HasForeignKey(i => i.CreatedBy).OnDelete(DeleteBehavior.Cascade);
        // Who used it stays answerable only while that account exists.
        b.HasOne<AppUser>().WithMany().HasForeignKey(i => i.UsedBy).OnDelete(DeleteBehavior.SetNull);
    }
}
