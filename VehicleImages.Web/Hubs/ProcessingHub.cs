using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.SignalR;
using VehicleImages.Core.Accounts;
using VehicleImages.Web.Auth;

namespace VehicleImages.Web.Hubs;

/// <summary>
/// Server-to-client only: ImageStatusChanged to the image's owner and to admins, AdminAlert to admins.
/// Browsers authenticate with the cookie; other clients with the bearer token as access_token.
/// </summary>
[Authorize]
public sealed class ProcessingHub : Hub
{
    public const string Path = "/hubs/processing";
    public const string Admins = "admins";

    public static string UserGroup(Guid userId) => $"user:{userId:N}";

    public override async Task OnConnectedAsync()
    {
        await Groups.AddToGroupAsync(Context.ConnectionId, UserGroup(Context.User!.UserId()));
        if (Context.User!.IsInRole(Roles.Admin))
            await Groups.AddToGroupAsync(Context.ConnectionId, Admins);
        await base.OnConnectedAsync();
    }
}

public sealed record ImageStatusMessage(Guid ImageId, Guid VehicleId, string ProcessingStatus, int Attempts, string? Error);

public sealed record AdminAlertMessage(Guid Id, string Kind, string Message, Guid? ImageId);
