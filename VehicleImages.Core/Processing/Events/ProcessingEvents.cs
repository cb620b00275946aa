using System.Text.Json;
using System.Text.Json.Serialization;

namespace VehicleImages.Core.Processing;

public sealed record ImageStatusEvent(Guid ImageId, Guid VehicleId, Guid UserId, string Status, int Attempts, string? Error);

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

/// <summary>
/// Reads a statement's status events (a JSON array of objects with imageId, vehicleId, userId, status,
/// attempts, error, as the status trigger and vi_announce_statuses write them; or one such object, as the
/// row-level trigger before QueueThroughput wrote it) with a Utf8JsonReader:
/// every instance parses every event, and the serializer's path for records (constructor parameters)
/// was 3 % of a queue drain's CPU, a fifth of the app's (ADR 019). Property names are matched without
/// regard to case, as the serializer's web defaults did; unknown ones are skipped.
/// </summary>
internal static class StatusEventsReader
{
    public static List<ImageStatusEvent> Read(string payload)
    {
        var events = new List<ImageStatusEvent>();
        var reader = new Utf8JsonReader(System.Text.Encoding.UTF8.GetBytes(payload));
        if (!reader.Read() || reader.TokenType is not (JsonTokenType.StartArray or JsonTokenType.StartObject))
            throw new JsonException("a status payload is an array of events or one event");
        if (reader.TokenType == JsonTokenType.StartObject)
            events.Add(ReadEvent(ref reader));
        else
            while (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
                events.Add(ReadEvent(ref reader));
        return events;
    }

    /// <summary>One event, the reader on its opening brace; leaves it on the closing one.</summary>
    private static ImageStatusEvent ReadEvent(ref Utf8JsonReader reader)
    {
        Guid image = default, vehicle = default, user = default;
        string? status = null, error = null;
        var attempts = 0;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var key = Key(ref reader);
            reader.Read();
            switch (key)
            {
                case Field.Image: image = reader.GetGuid(); break;
                case Field.Vehicle: vehicle = reader.GetGuid(); break;
                case Field.User: user = reader.GetGuid(); break;
                case Field.Status: status = reader.GetString(); break;
                case Field.Attempts: attempts = reader.GetInt32(); break;
                case Field.Error: error = reader.TokenType == JsonTokenType.Null ? null : reader.GetString(); break;
                default: reader.Skip(); break;
            }
        }

        return new ImageStatusEvent(image, vehicle, user, status ?? throw new JsonException("a status event without its status"), attempts, error);
    }

    private enum Field { Other, Image, Vehicle, User, Status, Attempts, Error }

    /// <summary>The property the reader is on: by its exact name (no string made), else ignoring case.</summary>
    private static Field Key(ref Utf8JsonReader reader)
    {
        if (reader.ValueTextEquals("imageId"u8)) return Field.Image;
        if (reader.ValueTextEquals("vehicleId"u8)) return Field.Vehicle;
        if (reader.ValueTextEquals("userId"u8)) return Field.User;
        if (reader.ValueTextEquals("status"u8)) return Field.Status;
        if (reader.ValueTextEquals("attempts"u8)) return Field.Attempts;
        if (reader.ValueTextEquals("error"u8)) return Field.Error;
        return reader.GetString()?.ToLowerInvariant() switch
        {
            "imageid" => Field.Image,
            "vehicleid" => Field.Vehicle,
            "userid" => Field.User,
            "status" => Field.Status,
            "attempts" => Field.Attempts,
            "error" => Field.Error,
            _ => Field.Other,
        };
    }
}

/// <summary>The alerts' payload shape, compiled (status events have their own reader, <see cref="StatusEventsReader"/>).</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(AlertEvent))]
internal sealed partial class EventsJson : JsonSerializerContext;

/// <summary>The configured connection string, for the one connection opened outside the pool.</summary>
public sealed record DatabaseConnection(string ConnectionString);

public static class ProcessingChannels
{
    public const string Jobs = "image_jobs";
    public const string ImageStatus = "image_status";
    public const string AdminAlert = "admin_alert";
    public const string ProviderState = "provider_state";

    /// <summary>An account's role changed (payload: "{id}:Admin" or "{id}:User"), so every instance re-checks that account's live connections.</summary>
    public const string AccountRoles = "account_roles";
}

/// <summary>
/// SQL for the statements that announce their photos' status changes themselves (the claim and the
/// completion, ADR 019): the events the status trigger would send, built from what the statement already
/// has, and a mark that makes the trigger stand down for this statement. The statement must update
/// vehicle_images (the trigger firing at its end clears the mark).
/// </summary>
internal static class StatusAnnouncement
{
    /// <summary>
    /// A query announcing every row of <paramref name="source"/> (columns id, vehicle_id, user_id, attempt)
    /// as now in <paramref name="status"/>, with no error; one row, which the statement must read (join it).
    /// The events are concatenated, not json_build_object'ed: their values are ids, a number and a status
    /// name, which need no escaping, and json_build_object cost 5 µs an event (3 % of a drain).
    /// </summary>
    public static string Of(string source, string status) => $$"""
        SELECT vi_announce_statuses(array_agg('{"imageId":"' || e.id || '","vehicleId":"' || e.vehicle_id || '","userId":"' || e.user_id
            || '","status":"{{status}}","attempts":' || e.attempt || ',"error":null}')) AS sent FROM {{source}} e
        """;

    /// <summary>A query of one row telling the status trigger this statement changes no status (nothing to announce).</summary>
    public const string NoStatusChange = "SELECT set_config('vi.status_events', 'announced', true) AS no_status_change";
}
