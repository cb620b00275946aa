using System.Text.Json;
using System.Text.Json.Serialization;
using VehicleImages.Core.Processing.Status;

namespace VehicleImages.Core.Processing.Events;

public sealed record AlertEvent(Guid Id, string Kind, string Message, Guid? ImageId);

/// <summary>
/// What the database announced (NOTIFY), fanned out in process. Every instance hears every change,
/// whichever instance made it. <see cref="Reconnected"/> tells subscribers that events may have been
/// missed while the listening connection was down, so they should reload.
/// </summary>
public sealed class ProcessingEvents
{
    public event Action<ImageStatusEvent>? ImageStatusChanged;
    public event Action<AlertEvent>? AlertRaised;
    public event Action? Reconnected;

    /// <summary>An analysis provider became unavailable or available again, on any instance.</summary>
    public event Action<string>? ProviderStateChanged;

    /// <summary>An account's role changed, on any instance: its id, and whether it is an Admin now.</summary>
    public event Action<Guid, bool>? AccountRoleChanged;

    internal void Publish(string channel, string payload)
    {
        try
        {
            switch (channel)
            {
                // One NOTIFY per statement: an array of the statement's status changes, in order.
                case ProcessingChannels.ImageStatus:
                    foreach (var status in StatusEventsReader.Read(payload))
                        ImageStatusChanged?.Invoke(status);
                    break;
                case ProcessingChannels.ProviderState:
                    ProviderStateChanged?.Invoke(payload);
                    break;
                // "{id}:Admin" or "{id}:User".
                case ProcessingChannels.AccountRoles when payload.Split(':') is [var id, var role] && Guid.TryParse(id, out var account):
                    AccountRoleChanged?.Invoke(account, role == Accounts.Roles.Admin);
                    break;
                case ProcessingChannels.AdminAlert when JsonSerializer.Deserialize(payload, EventsJson.Default.AlertEvent) is { } alert:
                    AlertRaised?.Invoke(alert);
                    break;
            }
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
        {
            // Payloads are written by our own triggers and statements; a malformed one is dropped, not fatal.
        }
    }

    internal void PublishReconnected() => Reconnected?.Invoke();
}

/// <summary>The alerts' payload shape, compiled (status events have their own reader, <see cref="StatusEventsReader"/>).</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(AlertEvent))]
internal sealed partial class EventsJson : JsonSerializerContext;

public static class ProcessingChannels
{
    public const string Jobs = "image_jobs";
    public const string ImageStatus = "image_status";
    public const string AdminAlert = "admin_alert";
    public const string ProviderState = "provider_state";

    /// <summary>An account's role changed (payload: "{id}:Admin" or "{id}:User"), so every instance re-checks that account's live connections.</summary>
    public const string AccountRoles = "account_roles";
}
