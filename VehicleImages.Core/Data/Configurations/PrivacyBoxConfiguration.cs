using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using VehicleImages.Core.Images;
using VehicleImages.Core.Privacy;

namespace VehicleImages.Core.Data.Configurations;

internal sealed class PrivacyBoxConfiguration : IEntityTypeConfiguration<PrivacyBox>
{
    public void Configure(EntityTypeBuilder<PrivacyBox> b)
    {
        b.ToTable("image_privacy_boxes", t =>
        {
            t.HasCheckConstraint("ck_image_privacy_boxes_kind", "kind IN ('plate', 'face')");
            t.HasCheckConstraint("ck_image_privacy_boxes_source", "source IN ('ai', 'local', 'user')");
        });
        b.Property(p => p.Id).HasDefaultValueSql("gen_random_uuid()");
        b.Property(p => p.Kind).HasColumnType("text");
        b.Property(p => p.Source).HasColumnType("text");
        b.Property(p => p.CreatedAt).HasDefaultValueSql("now()");
        b.HasOne<VehicleImage>().WithMany().HasForeignKey(p => p.ImageId).OnDelete(DeleteBehavior.Cascade);
        b.HasIndex(p => p.ImageId);
    }
}

internal sealed class PrivacyReviewConfiguration : IEntityTypeConfiguration<PrivacyReview>
{
    public void Configure(EntityTypeBuilder<PrivacyReview> b)
    {
        b.ToTable("image_privacy_reviews");
        b.HasKey(r => r.ImageId);
        b.Property(r => r.ReviewedAt).HasDefaultValueSql("now()");
        b.HasOne<VehicleImage>().WithOne().HasForeignKey<PrivacyReview>(r => r.ImageId).OnDelete(DeleteBehavior.Cascade);
    }
}
