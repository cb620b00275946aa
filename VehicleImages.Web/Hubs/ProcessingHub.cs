using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.SignalR;
using VehicleImages.Web.Auth;

namespace VehicleImages.Web.Hubs;

/// <summary>
/// Server-to-client only: ImageStatusChanged to the image's owner and to admins, AdminAlert to admins.
/// Browsers authenticate with the cookie; other clients with the bearer token as access_token. Whether a
/// connection is an admin's is read from the database when it connects and re-checked when roles change
/// (<see cref="HubAdmins"/>), never taken from the token's claims.
/// </summary>
[Authorize]
public sealed class ProcessingHub(HubAdmins admins) : Hub
{
    public const string Path = "/hubs/processing";
    public const string Admins = "admins";

    public static string UserGroup(Guid userId) => $"user:{userId:N}";

    public override async Task OnConnectedAsync()
    {
        var userId = Context.User!.UserId();
        await Groups.AddToGroupAsync(Context.ConnectionId, UserGroup(userId));
        await admins.JoinIfAdminAsync(Context.ConnectionId, userId, Context.ConnectionAborted);
        await base.OnConnectedAsync();
    }

    public override Task OnDisconnectedAsync(Exception? exception)
    {
        admins.Leave(Context.ConnectionId);
        return base.OnDisconnectedAsync(exception);
    }
}

public sealed record ImageStatusMessage(Guid ImageId, Guid VehicleId, string ProcessingStatus, int Attempts, string? Error);

public sealed record AdminAlertMessage(Guid Id, string Kind, string Message, Guid? ImageId);
