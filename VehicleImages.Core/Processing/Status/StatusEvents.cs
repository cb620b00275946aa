using System.Text.Json;

namespace VehicleImages.Core.Processing.Status;

/// <summary>A photo's status change as announced on the image_status channel (<see cref="StatusAnnouncement"/>, the status trigger) and read by <see cref="StatusEventsReader"/>.</summary>
public sealed record ImageStatusEvent(Guid ImageId, Guid VehicleId, Guid UserId, string Status, int Attempts, string? Error);

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
