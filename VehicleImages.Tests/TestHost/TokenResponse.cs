namespace VehicleImages.Tests.TestHost;

public sealed record TokenResponse(string TokenType, string AccessToken, long ExpiresIn, string RefreshToken);
