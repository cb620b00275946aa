using VehicleImages.Core.Vehicles;

namespace VehicleImages.Core.Images;

/// <summary>What a <see cref="Caller"/> may reach: owners their own rows, admins every row.</summary>
public static class Visibility
{
    public static IQueryable<VehicleImage> VisibleTo(this IQueryable<VehicleImage> images, Caller caller) =>
        caller.IsAdmin ? images : images.Where(i => i.UserId == caller.UserId);

    public static IQueryable<Vehicle> VisibleTo(this IQueryable<Vehicle> vehicles, Caller caller) =>
        caller.IsAdmin ? vehicles : vehicles.Where(v => v.UserId == caller.UserId);
}
