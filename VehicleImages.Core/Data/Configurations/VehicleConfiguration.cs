using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using VehicleImages.Core.Accounts;
using VehicleImages.Core.Vehicles;

namespace VehicleImages.Core.Data.Configurations;

internal sealed class VehicleConfiguration : IEntityTypeConfiguration<Vehicle>
{
    public void Configure(EntityTypeBuilder<Vehicle> b)
    {
        b.ToTable("vehicles", t => t.HasCheckConstraint("ck_vehicles_year", "year IS NULL OR year BETWEEN 1885 AND 2100"));
        b.Property(v => v.Id).HasDefaultValueSql("gen_random_uuid()");
        b.Property(v => v.Name).HasMaxLength(200);
        b.Property(v => v.Make).HasMaxLength(100);
        b.Property(v => v.Model).HasMaxLength(100);
        b.Property(v => v.CreatedAt).HasDefaultValueSql("now()");
        // Existing vehicles hide their boxes too; the sentinel keeps EF sending false when an owner turns it off.
        b.Property(v => v.HidePrivacyBoxes).HasDefaultValue(true).HasSentinel(true);
        b.HasOne<AppUser>().WithMany().HasForeignKey(v => v.UserId).OnDelete(DeleteBehavior.Cascade);
        b.HasIndex(v => new { v.UserId, v.CreatedAt });
    }
}
