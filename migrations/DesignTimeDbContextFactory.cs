using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;
using VehicleImages.Core.Data;

namespace VehicleImages.Migrations;

/// <summary>Lets <c>dotnet ef</c> build the model without starting the app or reaching a database.</summary>
public sealed class DesignTimeDbContextFactory : IDesignTimeDbContextFactory<VehicleImagesDbContext>
{
    public VehicleImagesDbContext CreateDbContext(string[] args)
    {
        var options = new DbContextOptionsBuilder<VehicleImagesDbContext>();
        VehicleImagesDbContext.Configure(options,
            Environment.GetEnvironmentVariable("ConnectionStrings__Default") ?? "Host=localhost;Database=design_time");
        return new VehicleImagesDbContext(options.Options);
    }
}
