using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using VehicleImages.Core.Images;

namespace VehicleImages.Core.Data.Configurations;

internal sealed class VehicleImageAngleConfiguration : IEntityTypeConfiguration<VehicleImageAngle>
{
    public void Configure(EntityTypeBuilder<VehicleImageAngle> b)
    {
        b.ToTable("vehicle_image_angles", t =>
        {
            t.HasCheckConstraint("ck_vehicle_image_angles_source", "source IN ('ai', 'user', 'inherited', 'suggested')");
            t.HasCheckConstraint("ck_vehicle_image_angles_confidence", "confidence IS NULL OR confidence BETWEEN 0 AND 1");
        });
        b.Property(a => a.Id).HasDefaultValueSql("gen_random_uuid()");
        b.Property(a => a.Category).HasMaxLength(40);
        b.Property(a => a.Angle).HasMaxLength(40);
        b.Property(a => a.Source).HasMaxLength(10);
        b.Property(a => a.CreatedAt).HasDefaultValueSql("now()");
        b.Property(a => a.UpdatedAt).HasDefaultValueSql("now()");
        b.HasOne<VehicleImage>().WithMany().HasForeignKey(a => a.ImageId).OnDelete(DeleteBehavior.Cascade);
        // One row per image and source, so re-analysis upserts instead of duplicating.
        b.HasIndex(a => new { a.ImageId, a.Source }).IsUnique();
        b.HasIndex(a => new { a.Category, a.Angle });
    }
}
