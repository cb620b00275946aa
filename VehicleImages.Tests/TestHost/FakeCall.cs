using System.Text.Json;

namespace VehicleImages.Tests.TestHost;

public sealed record FakeCall(int Tier, JsonElement Body, string? Authorization);
