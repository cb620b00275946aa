using System.Text.Json;

namespace VehicleImages.Core.Images;

public sealed record StoredObject(string Key, string ContentType, long Bytes, int? Width, int? Height);

/// <summary>What vehicle_images.variants holds: where each size of the photo is stored.</summary>
public sealed record VariantSet(StoredObject Original, StoredObject Large, StoredObject Medium, StoredObject Thumb)
{
    public static readonly string[] Names = ["thumb", "medium", "large", "original"];
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public StoredObject? Get(string name) => name switch
    {
        "original" => Original,
        "large" => Large,
        "medium" => Medium,
        "thumb" => Thumb,
        _ => null,
    };

    public IEnumerable<StoredObject> All => [Original, Large, Medium, Thumb];

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static VariantSet? FromJson(string? json) =>
        string.IsNullOrEmpty(json) ? null : JsonSerializer.Deserialize<VariantSet>(json, Json);
}
