using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using VehicleImages.Core.Alerts;
using VehicleImages.Core.Images;

namespace VehicleImages.Core.Data.Configurations;

internal sealed class AdminAlertConfiguration : IEntityTypeConfiguration<AdminAlert>
{
    public void Configure(EntityTypeBuilder<AdminAlert> b)
    {
        b.ToTable("admin_alerts");
        b.Property(a => a.Id).HasDefaultValueSql("gen_random_uuid()");
        b.Property(a => a.Kind).HasMaxLength(60);
        b.Property(a => a.CreatedAt).HasDefaultValueSql("now()");
        // An alert outlives the image it names: the admin still needs to read why it failed.
        b.HasOne<VehicleImage>().WithMany().HasForeignKey(a => a.ImageId).OnDelete(DeleteBehavior.SetNull);
        b.HasIndex(a => a.CreatedAt).IsDescending();
    }
}
