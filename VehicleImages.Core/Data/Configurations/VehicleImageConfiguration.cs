using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using VehicleImages.Core.Accounts;
using VehicleImages.Core.Images;
using VehicleImages.Core.Vehicles;

namespace VehicleImages.Core.Data.Configurations;

internal sealed class VehicleImageConfiguration : IEntityTypeConfiguration<VehicleImage>
{
    public void Configure(EntityTypeBuilder<VehicleImage> b)
    {
        b.ToTable("vehicle_images", t =>
        {
            t.HasCheckConstraint("ck_vehicle_images_processing_status", "processing_status IN ('pending', 'processing', 'complete', 'failed', 'cancelled')");
            t.HasCheckConstraint("ck_vehicle_images_gps", "(gps_latitude IS NULL OR gps_latitude BETWEEN -90 AND 90) AND (gps_longitude IS NULL OR gps_longitude BETWEEN -180 AND 180)");
            t.HasCheckConstraint("ck_vehicle_images_orientation", "orientation IS NULL OR orientation BETWEEN 1 AND 8");
        });
        b.Property(i => i.Id).HasDefaultValueSql("gen_random_uuid()");
        b.Property(i => i.FileName).HasMaxLength(255);
        b.Property(i => i.ExifData).HasColumnType("jsonb");
        b.Property(i => i.Variants).HasColumnType("jsonb");
        b.Property(i => i.AiScanMetadata).HasColumnType("jsonb");
        // Defaults let rows inserted by hand (old data, scripts) be valid without naming every column.
        b.Property(i => i.ProcessingStatus).HasDefaultValue(ProcessingStatus.Pending);
        b.Property(i => i.IsPrimary).HasDefaultValue(false);
        b.Property(i => i.CreatedAt).HasDefaultValueSql("now()");
        b.Property(i => i.Sha256).HasMaxLength(64).IsFixedLength();
        b.Property(i => i.ContentType).HasMaxLength(40);
        b.Property(i => i.CameraMake).HasMaxLength(200);
        b.Property(i => i.CameraModel).HasMaxLength(200);
        b.Property(i => i.LensModel).HasMaxLength(200);

        b.HasOne<Vehicle>().WithMany().HasForeignKey(i => i.VehicleId).OnDelete(DeleteBehavior.Cascade);
        b.HasOne<AppUser>().WithMany().HasForeignKey(i => i.UserId).OnDelete(DeleteBehavior.Cascade);

        // Gallery: a vehicle's photos, newest first.
        b.HasIndex(i => new { i.VehicleId, i.CreatedAt });
        b.HasIndex(i => i.UserId);
        // Reports by month of taken_at and the contract's status query.
        b.HasIndex(i => i.TakenAt);
        // No index reads processing_status (not even in a predicate), and pages are filled to 35 %: the
        // two status changes of every analysis (processing, then complete with its results) are HOT
        // updates that touch no index only while the new row version fits on its page, and a claim
        // updates a batch of photos uploaded together, which share pages. At 75 % a page of narrow rows
        // had room for a third of a batch's new versions; the rest went to other pages with an entry
        // in every index (ADR 019). The admin's few queries for failed photos scan instead (ADR 011).
        b.HasStorageParameter("fillfactor", 35);
        // The same file twice in one vehicle is a duplicate; the database decides between simultaneous uploads.
        b.HasIndex(i => new { i.VehicleId, i.Sha256 }).IsUnique();
        // Content-addressed files are shared between rows: deleting one asks who else uses them.
        b.HasIndex(i => i.Sha256);
        // At most one primary photo per vehicle.
        b.HasIndex(i => i.VehicleId)
            .HasDatabaseName("ux_vehicle_images_primary")
            .IsUnique()
            .HasFilter("is_primary");
    }
}
