using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using VehicleImages.Core.Accounts;
using VehicleImages.Core.Uploads;
using VehicleImages.Core.Vehicles;

namespace VehicleImages.Core.Data.Configurations;

internal sealed class ResumableUploadConfiguration : IEntityTypeConfiguration<ResumableUpload>
{
    public void Configure(EntityTypeBuilder<ResumableUpload> b)
    {
        b.ToTable("resumable_uploads", t =>
            t.HasCheckConstraint("ck_resumable_uploads_offset", "upload_offset >= 0 AND upload_offset <= length"));
        b.Property(u => u.Id).ValueGeneratedNever();
        // "offset" is a reserved word in SQL.
        b.Property(u => u.Offset).HasColumnName("upload_offset");
        b.Property(u => u.FileName).HasMaxLength(255);
        b.Property(u => u.FileType).HasMaxLength(255);
        b.Property(u => u.State).HasMaxLength(16);
        b.Property(u => u.StorageUploadId).HasMaxLength(1024);
        b.Property(u => u.StorageParts).HasColumnType("jsonb");
        // The sweep finds expired uploads by time.
        b.HasIndex(u => u.ExpiresAt);
        b.HasIndex(u => u.UserId);
        b.HasOne<AppUser>().WithMany().HasForeignKey(u => u.UserId).OnDelete(DeleteBehavior.Cascade);
        // A vehicle (or account) deleted mid-upload takes its uploads along; the sweep removes bytes that no row names.
        b.HasOne<Vehicle>().WithMany().HasForeignKey(u => u.VehicleId).OnDelete(DeleteBehavior.Cascade);
    }
}
