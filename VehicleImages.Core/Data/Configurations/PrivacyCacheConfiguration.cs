using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using VehicleImages.Core.Images;
using VehicleImages.Core.Privacy;

namespace VehicleImages.Core.Data.Configurations;

internal sealed class PrivacyScanConfiguration : IEntityTypeConfiguration<PrivacyScan>
{
    public void Configure(EntityTypeBuilder<PrivacyScan> b)
    {
        b.ToTable("image_privacy_scans");
        b.HasKey(s => s.ImageId);
        b.Property(s => s.ScannedAt).HasDefaultValueSql("now()");
        b.HasOne<VehicleImage>().WithOne().HasForeignKey<PrivacyScan>(s => s.ImageId).OnDelete(DeleteBehavior.Cascade);
    }
}

internal sealed class PrivacyBlurSetConfiguration : IEntityTypeConfiguration<PrivacyBlurSet>
{
    public void Configure(EntityTypeBuilder<PrivacyBlurSet> b)
    {
        b.ToTable("image_privacy_blurs");
        b.HasKey(s => s.ImageId);
        b.Property(s => s.BoxHash).HasColumnType("text");
        b.Property(s => s.Variants).HasColumnType("jsonb");
        b.Property(s => s.UpdatedAt).HasDefaultValueSql("now()");
        b.HasOne<VehicleImage>().WithOne().HasForeignKey<PrivacyBlurSet>(s => s.ImageId).OnDelete(DeleteBehavior.Cascade);
    }
}
