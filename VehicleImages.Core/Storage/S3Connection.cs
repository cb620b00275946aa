using System.Net;
using Amazon.Runtime;
using Amazon.S3;
using Microsoft.Extensions.Options;
using VehicleImages.Core.Configuration;

namespace VehicleImages.Core.Storage;

/// <summary>
/// The one S3 client of an instance and the bucket it works in, shared by the photo store
/// (<see cref="S3ImageStore"/>) and the tus upload store (<c>Uploads.S3UploadBytes</c>), so both talk
/// to the service with the same settings and one connection pool.
/// </summary>
public sealed class S3Connection : IDisposable
{
    public S3Connection(IOptions<StorageOptions> options)
    {
        var o = options.Value.S3;
        Name = o.Bucket!;
        // Over TLS the body's integrity is TLS's job: no SHA-256 of every photo on the CPU for the signature.
        // Over plain HTTP the signature must cover the body (services refuse UNSIGNED-PAYLOAD there).
        UnsignedPayload = o.ServiceUrl is null || o.ServiceUrl.Scheme == Uri.UriSchemeHttps;
        var config = new AmazonS3Config
        {
            ForcePathStyle = o.ForcePathStyle,
            AuthenticationRegion = o.Region,
            // S3-compatible servers over plain HTTP may store aws-chunked bodies with trailing
            // checksums verbatim (s3rver did: 200,000 bytes stored as 200,476); checksums only when
            // an operation requires them, and plain bodies on every put (UseChunkEncoding = false).
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
            Timeout = TimeSpan.FromSeconds(o.TimeoutSeconds),
            // An outage should be answered (503, a waiting photo) in seconds, not after long back-offs.
            MaxErrorRetry = 2,
        };
        if (o.ServiceUrl is { } url)
            config.ServiceURL = url.ToString();
        else
            config.RegionEndpoint = Amazon.RegionEndpoint.GetBySystemName(o.Region);
        Client = string.IsNullOrWhiteSpace(o.AccessKey)
            ? new AmazonS3Client(config)
            : new AmazonS3Client(new BasicAWSCredentials(o.AccessKey, o.SecretKey), config);
        Description = $"S3 bucket '{Name}'" + (o.ServiceUrl is { } u ? $" at {u.GetLeftPart(UriPartial.Authority)}" : $" in {o.Region}");
    }

    public AmazonS3Client Client { get; }

    public string Name { get; }

    /// <summary>Whether puts leave the body out of the signature (over TLS, or against AWS itself).</summary>
    public bool UnsignedPayload { get; }

    /// <summary>"S3 bucket 'name' at host:port", for logs and the admin's health detail.</summary>
    public string Description { get; }

    /// <summary>
    /// Every failure of the service becomes a <see cref="StoreUnavailableException"/> naming the store (503 to a client,
    /// a waiting photo to the queue); the caller's own cancellation stays one.
    /// </summary>
    public async Task<T> GuardAsync<T>(Func<Task<T>> call, string store, CancellationToken cancellationToken)
    {
        try
        {
            return await call();
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e) when (e is AmazonServiceException or AmazonClientException or HttpRequestException or IOException
                                      or OperationCanceledException or TimeoutException or System.Net.Sockets.SocketException)
        {
            throw new StoreUnavailableException($"the {store} ({Description}) is unavailable: {Reason(e)}", e);
        }
    }

    private static string Reason(Exception e) => e switch
    {
        AmazonS3Exception { ErrorCode: "NoSuchBucket" } => "the bucket does not exist",
        AmazonS3Exception { StatusCode: HttpStatusCode.Forbidden } s3 => $"access denied ({s3.ErrorCode})",
        AmazonServiceException { StatusCode: >= HttpStatusCode.InternalServerError } s => $"it answered {(int)s.StatusCode} {s.ErrorCode}",
        AmazonServiceException s => $"{s.ErrorCode ?? ((int)s.StatusCode).ToString()}: {s.Message}",
        OperationCanceledException or TimeoutException => "it did not answer in time",
        _ when Innermost(e) is System.Net.Sockets.SocketException socket => socket.SocketErrorCode == System.Net.Sockets.SocketError.ConnectionRefused
            ? "connection refused" : socket.Message,
        _ => Innermost(e).Message,
    };

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is { } inner)
            e = inner;
        return e;
    }

    public void Dispose() => Client.Dispose();
}
