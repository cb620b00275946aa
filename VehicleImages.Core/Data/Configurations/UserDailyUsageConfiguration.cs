using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using VehicleImages.Core.Accounts;
using VehicleImages.Core.Quotas;

namespace VehicleImages.Core.Data.Configurations;

internal sealed class UserDailyUsageConfiguration : IEntityTypeConfiguration<UserDailyUsage>
{
    public void Configure(EntityTypeBuilder<UserDailyUsage> b)
    {
        b.ToTable("user_daily_usage");
        // One row per account and UTC day, upserted by the statements that count (INSERT ... ON CONFLICT).
        b.HasKey(u => new { u.UserId, u.Day });
        // Each counting statement names only its own column.
        b.Property(u => u.Photos).HasDefaultValue(0);
        b.Property(u => u.ProviderCalls).HasDefaultValue(0);
        b.HasOne<AppUser>().WithMany().HasForeignKey(u => u.UserId).OnDelete(DeleteBehavior.Cascade);
    }
}
