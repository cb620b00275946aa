using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using VehicleImages.Core.Accounts;
using VehicleImages.Core.Sharing;
using VehicleImages.Core.Vehicles;

namespace VehicleImages.Core.Data.Configurations;

internal sealed class ShareLinkConfiguration : IEntityTypeConfiguration<ShareLink>
{
    public void Configure(EntityTypeBuilder<ShareLink> b)
    {
        b.ToTable("share_links", t => t.HasCheckConstraint("ck_share_links_set", "set IN ('listing', 'all')"));
        b.Property(s => s.TokenHash).HasMaxLength(64).IsFixedLength();
        // Every visit finds its share by the token's hash.
        b.HasIndex(s => s.TokenHash).IsUnique();
        b.Property(s => s.Set).HasMaxLength(10);
        b.Property(s => s.CreatedAt).HasDefaultValueSql("now()");
        b.HasIndex(s => s.VehicleId);
        // Deleting the vehicle or the account deletes its shares: their tokens then find nothing (404, like a revoked one).
        b.HasOne<Vehicle>().WithMany().HasForeignKey(s => s.VehicleId).OnDelete(DeleteBehavior.Cascade);
        b.HasOne<AppUser>().WithMany().HasForeignKey(s => s.UserId).OnDelete(DeleteBehavior.Cascade);
    }
}
