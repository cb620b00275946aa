using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace VehicleImages.Benchmarks.Support;

/// <summary>
/// The Data Protection certificate every app the benchmarks start runs with, as run.sh gives the app one
/// (outside Development the app refuses to serve without it). Written once per run.
/// </summary>
internal static class DataProtectionCertificate
{
    private static readonly Lazy<string> Shared = new(() =>
    {
        using var rsa = RSA.Create(2048);
        var request = new CertificateRequest("CN=VehicleImages benchmark Data Protection", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
        var path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"vi-bench-dp-{Environment.ProcessId}.pem");
        File.WriteAllText(path, certificate.ExportCertificatePem() + "\n" + rsa.ExportPkcs8PrivateKeyPem() + "\n");
        return path;
    });

    public static string Path => Shared.Value;
}
