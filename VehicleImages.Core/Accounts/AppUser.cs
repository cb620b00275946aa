using Microsoft.AspNetCore.Identity;

namespace VehicleImages.Core.Accounts;

public sealed class AppUser : IdentityUser<Guid>
{
    public DateTimeOffset CreatedAt { get; set; }
}

public static class Roles
{
    public const string Admin = "Admin";
    public const string User = "User";
}
