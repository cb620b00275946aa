using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using VehicleImages.Core.Images;

namespace VehicleImages.Core.Data.Configurations;

internal sealed class ImageSpatialMetadataConfiguration : IEntityTypeConfiguration<ImageSpatialMetadata>
{
    public void Configure(EntityTypeBuilder<ImageSpatialMetadata> b)
    {
        b.ToTable("image_spatial_metadata", t => t.HasCheckConstraint(
            "ck_image_spatial_metadata_bbox",
            "(bbox_x IS NULL OR bbox_x BETWEEN 0 AND 1) AND (bbox_y IS NULL OR bbox_y BETWEEN 0 AND 1) AND " +
            "(bbox_width IS NULL OR bbox_width BETWEEN 0 AND 1) AND (bbox_height IS NULL OR bbox_height BETWEEN 0 AND 1)"));
        b.Property(s => s.Id).HasDefaultValueSql("gen_random_uuid()");
        b.Property(s => s.ComponentName).HasMaxLength(200);
        b.Property(s => s.Area).HasMaxLength(200);
        b.Property(s => s.Condition).HasMaxLength(200);
        b.Property(s => s.CreatedAt).HasDefaultValueSql("now()");
        b.HasOne<VehicleImage>().WithMany().HasForeignKey(s => s.ImageId).OnDelete(DeleteBehavior.Cascade);
        b.HasIndex(s => s.ImageId);
    }
}
