using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace VehicleImages.Rig;

/// <summary>
/// The Data Protection certificate the test apps run with, as run.sh gives the app one: outside Development
/// the app refuses to serve without it. One per test run, written once, shared by every app the run starts.
/// </summary>
public static class TestCertificate
{
    public const string Key = "DataProtection:CertificatePath";

    private static readonly Lazy<string> Shared = new(() => Write(System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"vi-test-dp-{Environment.ProcessId}.pem")));

    public static string Path => Shared.Value;

    /// <summary>What run.sh makes with openssl: a self-signed certificate and its key in one PEM file.</summary>
    public static string Write(string? path = null)
    {
        using var rsa = RSA.Create(2048);
        var request = new CertificateRequest("CN=VehicleImages test Data Protection", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
        path ??= System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"vi-dp-{Guid.NewGuid():N}.pem");
        File.WriteAllText(path, certificate.ExportCertificatePem() + "\n" + rsa.ExportPkcs8PrivateKeyPem() + "\n");
        return path;
    }
}
