using System.ComponentModel.DataAnnotations;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using VehicleImages.Core.Data;
using VehicleImages.Core.Images;

namespace VehicleImages.Core.Vehicles;

public sealed record StatusCounts(int Pending, int Processing, int Complete, int Failed)
{
    public int Total => Pending + Processing + Complete + Failed;
}

public sealed record VehicleSummary(
    Guid Id, string Name, string? Make, string? Model, int? Year, DateTimeOffset CreatedAt,
    Guid? PrimaryImageId, StatusCounts ImageCounts);

public class NewVehicle
{
    [Required(ErrorMessage = "Give the vehicle a name.")]
    [StringLength(200, MinimumLength = 1, ErrorMessage = "The name must be 1 to 200 characters.")]
    public string Name { get; set; } = "";

    [StringLength(100, ErrorMessage = "The make must be at most 100 characters.")]
    public string? Make { get; set; }

    [StringLength(100, ErrorMessage = "The model must be at most 100 characters.")]
    public string? Model { get; set; }

    [Range(1885, 2100, ErrorMessage = "The year must be between 1885 and 2100.")]
    public int? Year { get; set; }
}

/// <summary>A vehicle's new name and details (<c>PUT /api/vehicles/{id}</c>); <c>hidePrivacyBoxes</c> left out keeps what it was.</summary>
public sealed class VehicleUpdate : NewVehicle
{
    /// <summary>Blur plates and faces in everything that leaves the app (on by default).</summary>
    public bool? HidePrivacyBoxes { get; set; }
}

/// <summary>A user's vehicles. Every query is scoped to the owner: nobody reaches another's vehicle.</summary>
public sealed class VehicleService(IDbContextFactory<VehicleImagesDbContext> contexts, TimeProvider time, ILogger<VehicleService> logger)
{
    public async Task<IReadOnlyList<VehicleSummary>> ListAsync(Guid userId, CancellationToken cancellationToken = default)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        // One query: counts per status and the primary photo come from grouped subqueries, not N+1.
        return await db.Vehicles
            .Where(v => v.UserId == userId)
            .OrderByDescending(v => v.CreatedAt)
            .Select(v => new VehicleSummary(
                v.Id, v.Name, v.Make, v.Model, v.Year, v.CreatedAt,
                db.VehicleImages.Where(i => i.VehicleId == v.Id && i.IsPrimary).Select(i => (Guid?)i.Id).FirstOrDefault(),
                new StatusCounts(
                    db.VehicleImages.Count(i => i.VehicleId == v.Id && i.ProcessingStatus == ProcessingStatus.Pending),
                    db.VehicleImages.Count(i => i.VehicleId == v.Id && i.ProcessingStatus == ProcessingStatus.Processing),
                    db.VehicleImages.Count(i => i.VehicleId == v.Id && i.ProcessingStatus == ProcessingStatus.Complete),
                    db.VehicleImages.Count(i => i.VehicleId == v.Id && i.ProcessingStatus == ProcessingStatus.Failed))))
            .ToListAsync(cancellationToken);
    }

    public async Task<Vehicle?> FindAsync(Guid userId, Guid vehicleId, CancellationToken cancellationToken = default)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        return await db.Vehicles.AsNoTracking().SingleOrDefaultAsync(v => v.Id == vehicleId && v.UserId == userId, cancellationToken);
    }

    public async Task<Vehicle> CreateAsync(Guid userId, NewVehicle input, CancellationToken cancellationToken = default)
    {
        var problems = Validate(input);
        if (problems.Count > 0)
            throw new ValidationException(string.Join(" ", problems.SelectMany(p => p.Value)));

        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var vehicle = new Vehicle
        {
            Id = Guid.CreateVersion7(),
            UserId = userId,
            Name = input.Name.Trim(),
            Make = Blank(input.Make),
            Model = Blank(input.Model),
            Year = input.Year,
            CreatedAt = time.GetUtcNow(),
        };
        db.Vehicles.Add(vehicle);
        await db.SaveChangesAsync(cancellationToken);
        return vehicle;
    }

    /// <summary>
    /// The owner renames the vehicle or changes its details and privacy setting; null when it is not theirs. Turning
    /// <see cref="Vehicle.HidePrivacyBoxes"/> off is recorded (when, on the vehicle, and in the log): from then on its
    /// plates and faces leave the app readable.
    /// </summary>
    public async Task<Vehicle?> UpdateAsync(Guid userId, Guid vehicleId, VehicleUpdate input, CancellationToken cancellationToken = default)
    {
        var problems = Validate(input);
        if (problems.Count > 0)
            throw new ValidationException(string.Join(" ", problems.SelectMany(p => p.Value)));

        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var vehicle = await db.Vehicles.SingleOrDefaultAsync(v => v.Id == vehicleId && v.UserId == userId, cancellationToken);
        if (vehicle is null)
            return null;
        vehicle.Name = input.Name.Trim();
        vehicle.Make = Blank(input.Make);
        vehicle.Model = Blank(input.Model);
        vehicle.Year = input.Year;
        if (input.HidePrivacyBoxes is { } hide)
            SetHiding(vehicle, hide);
        await db.SaveChangesAsync(cancellationToken);
        return vehicle;
    }

    /// <summary>The owner's "hide plates and faces in what I share or export"; null when the vehicle is not theirs.</summary>
    public async Task<Vehicle?> SetHidePrivacyBoxesAsync(Guid userId, Guid vehicleId, bool hide, CancellationToken cancellationToken = default)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var vehicle = await db.Vehicles.SingleOrDefaultAsync(v => v.Id == vehicleId && v.UserId == userId, cancellationToken);
        if (vehicle is null)
            return null;
        SetHiding(vehicle, hide);
        await db.SaveChangesAsync(cancellationToken);
        return vehicle;
    }

    private void SetHiding(Vehicle vehicle, bool hide)
    {
        if (hide == vehicle.HidePrivacyBoxes)
            return;
        vehicle.HidePrivacyBoxes = hide;
        if (!hide)
        {
            vehicle.PrivacyHidingOffAt = time.GetUtcNow();
            logger.LogWarning("User {UserId} turned off hiding plates and faces for vehicle {VehicleId}: its photos leave the app unblurred", vehicle.UserId, vehicle.Id);
        }
        else
            logger.LogInformation("User {UserId} turned hiding plates and faces back on for vehicle {VehicleId}", vehicle.UserId, vehicle.Id);
    }

    /// <summary>Field name → messages, empty when the input is valid.</summary>
    public static Dictionary<string, string[]> Validate(NewVehicle input)
    {
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(input, new ValidationContext(input), results, validateAllProperties: true);
        return results
            .SelectMany(r => r.MemberNames.DefaultIfEmpty("").Select(m => (Member: m, r.ErrorMessage)))
            .GroupBy(x => JsonName(x.Member))
            .ToDictionary(g => g.Key, g => g.Select(x => x.ErrorMessage ?? "Invalid value.").ToArray());
    }

    private static string JsonName(string member) => member.Length == 0 ? "" : char.ToLowerInvariant(member[0]) + member[1..];

    private static string? Blank(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();
}
