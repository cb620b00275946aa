using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Configuration;

namespace VehicleImages.Core.Accounts;

/// <summary>
/// The certificate that encrypts the Data Protection keys kept in the database, so that reading the
/// data_protection_keys table is not enough to forge a login cookie. Configured by
/// <c>DataProtection__CertificatePath</c>: a PEM certificate with its private key in the same file or in
/// <c>DataProtection__KeyPath</c>, or a PKCS#12 file (.pfx, .p12) with <c>DataProtection__CertificatePassword</c>.
/// run.sh generates one under .data/. Without it the app serves only in the Development environment
/// (VehicleImagesApp refuses to start otherwise), where the keys are stored unencrypted.
/// </summary>
public static class KeyEncryptionCertificate
{
    public static X509Certificate2? Load(IConfiguration configuration)
    {
        var section = configuration.GetSection("DataProtection");
        var path = section["CertificatePath"];
        if (string.IsNullOrWhiteSpace(path))
            return null;
        if (!File.Exists(path))
            throw new InvalidOperationException(
                $"DataProtection:CertificatePath (DataProtection__CertificatePath) names a file that does not exist: {path}");

        try
        {
            var extension = Path.GetExtension(path).ToLowerInvariant();
            var certificate = extension is ".pfx" or ".p12"
                ? X509CertificateLoader.LoadPkcs12FromFile(path, section["CertificatePassword"])
                : X509Certificate2.CreateFromPemFile(path, string.IsNullOrWhiteSpace(section["KeyPath"]) ? null : section["KeyPath"]);
            if (!certificate.HasPrivateKey)
                throw new InvalidOperationException("it has no private key");
            return certificate;
        }
        catch (Exception e) when (e is System.Security.Cryptography.CryptographicException or InvalidOperationException)
        {
            throw new InvalidOperationException(
                $"DataProtection:CertificatePath ({path}) cannot be used to encrypt the Data Protection keys: {e.Message} " +
                "It must be a PEM certificate with its private key (in the file or in DataProtection:KeyPath), or a .pfx/.p12 " +
                "with DataProtection:CertificatePassword.", e);
        }
    }
}
