using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using VehicleImages.Core.Listings;
using VehicleImages.Core.Vehicles;

namespace VehicleImages.Core.Data.Configurations;

internal sealed class VehicleListingConfiguration : IEntityTypeConfiguration<VehicleListing>
{
    public void Configure(EntityTypeBuilder<VehicleListing> b)
    {
        b.ToTable("vehicle_listings", t => t.HasCheckConstraint("ck_vehicle_listings_mode", "mode IN ('auto', 'manual')"));
        b.HasKey(l => l.VehicleId);
        b.Property(l => l.Mode).HasMaxLength(10);
        b.Property(l => l.ImageIds).HasColumnType("uuid[]");
        b.HasOne<Vehicle>().WithOne().HasForeignKey<VehicleListing>(l => l.VehicleId).OnDelete(DeleteBehavior.Cascade);
    }
}
