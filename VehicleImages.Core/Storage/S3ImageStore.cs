using System.Net;
using System.Runtime.CompilerServices;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Amazon.S3.Util;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VehicleImages.Core.Configuration;

namespace VehicleImages.Core.Storage;

/// <summary>
/// Originals and variants in an S3 bucket (any S3-compatible service, path-style by default), so
/// instances on different machines share only PostgreSQL and the bucket. A PUT is atomic: a reader
/// sees the whole object or none, which is what the file store's rename gives. Objects are
/// content-addressed, so two instances writing one key write the same bytes. Temporary files stay
/// on the local disk (<see cref="TemporaryFiles"/>).
/// </summary>
public sealed class S3ImageStore : IImageStore
{
    private readonly S3Connection _connection;
    private readonly AmazonS3Client _s3;
    private readonly string _bucket;
    private readonly TemporaryFiles _tmp;
    private readonly ILogger<S3ImageStore> _logger;
    private readonly bool _unsignedPayload;

    public S3ImageStore(S3Connection bucket, IOptions<StorageOptions> options, IHostEnvironment environment, ILogger<S3ImageStore> logger)
    {
        _connection = bucket;
        _s3 = bucket.Client;
        _bucket = bucket.Name;
        _unsignedPayload = bucket.UnsignedPayload;
        _logger = logger;
        _tmp = new TemporaryFiles(Path.GetFullPath(Path.Combine(environment.ContentRootPath, options.Value.Root)));
        Description = bucket.Description;
    }

    public string Description { get; }

    public string CreateTempPath() => _tmp.Create();

    public async Task PutFileAsync(string key, string sourcePath, CancellationToken cancellationToken = default)
    {
        await GuardAsync(() => _s3.PutObjectAsync(new PutObjectRequest
        {
            BucketName = _bucket,
            Key = StorageKeys.Checked(key),
            FilePath = sourcePath,
            ContentType = AmazonS3Util.MimeTypeFromExtension(Path.GetExtension(key)),
            UseChunkEncoding = false,
            DisablePayloadSigning = _unsignedPayload,
        }, cancellationToken), cancellationToken);
        File.Delete(sourcePath);
    }

    public async Task PutBytesAsync(string key, ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken = default)
    {
        var array = System.Runtime.InteropServices.MemoryMarshal.TryGetArray(bytes, out var segment)
            ? new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false)
            : new MemoryStream(bytes.ToArray(), writable: false);
        await using var body = array;
        await GuardAsync(() => _s3.PutObjectAsync(new PutObjectRequest
        {
            BucketName = _bucket,
            Key = StorageKeys.Checked(key),
            InputStream = body,
            AutoCloseStream = false,
            ContentType = AmazonS3Util.MimeTypeFromExtension(Path.GetExtension(key)),
            UseChunkEncoding = false,
            DisablePayloadSigning = _unsignedPayload,
        }, cancellationToken), cancellationToken);
    }

    public async Task<Stream?> OpenReadAsync(string key, CancellationToken cancellationToken = default)
    {
        StorageKeys.Checked(key);
        try
        {
            var response = await GuardAsync(() => _s3.GetObjectAsync(new GetObjectRequest { BucketName = _bucket, Key = key }, cancellationToken), cancellationToken);
            return new S3ObjectStream(this, key, response);
        }
        catch (StoreUnavailableException e) when (e.InnerException is AmazonS3Exception { StatusCode: HttpStatusCode.NotFound, ErrorCode: not "NoSuchBucket" })
        {
            return null;
        }
    }

    public Task DeleteAsync(string key, CancellationToken cancellationToken = default) =>
        GuardAsync(() => _s3.DeleteObjectAsync(_bucket, StorageKeys.Checked(key), cancellationToken), cancellationToken);

    public async IAsyncEnumerable<(string Key, DateTimeOffset Modified)> ListAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var prefix in new[] { "originals/", "variants/" })
        {
            var request = new ListObjectsV2Request { BucketName = _bucket, Prefix = prefix, MaxKeys = 1000 };
            while (true)
            {
                var page = await GuardAsync(() => _s3.ListObjectsV2Async(request, cancellationToken), cancellationToken);
                foreach (var o in page.S3Objects ?? [])
                    yield return (o.Key, o.LastModified is { } modified ? new DateTimeOffset(modified.ToUniversalTime(), TimeSpan.Zero) : DateTimeOffset.MinValue);
                if (page.IsTruncated != true)
                    break;
                request.ContinuationToken = page.NextContinuationToken;
            }
        }
    }

    public int DeleteTemporaryFilesOlderThan(DateTimeOffset before) => _tmp.DeleteOlderThan(before);

    /// <summary>Creates the bucket when it does not exist (several instances may race: the loser finds it made).</summary>
    public async Task EnsureReadyAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            await CheckAsync(cancellationToken);
        }
        catch (StoreUnavailableException e) when (e.InnerException is AmazonS3Exception { ErrorCode: "NoSuchBucket" })
        {
            try
            {
                await GuardAsync(() => _s3.PutBucketAsync(new PutBucketRequest { BucketName = _bucket, UseClientRegion = true }, cancellationToken), cancellationToken);
                _logger.LogInformation("Created the {Store}", Description);
            }
            catch (StoreUnavailableException made) when (made.InnerException is AmazonS3Exception { ErrorCode: "BucketAlreadyOwnedByYou" or "BucketAlreadyExists" })
            {
            }
        }
    }

    public Task CheckAsync(CancellationToken cancellationToken = default) =>
        GuardAsync(() => _s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = _bucket, MaxKeys = 1 }, cancellationToken), cancellationToken);


    private Task<T> GuardAsync<T>(Func<Task<T>> call, CancellationToken cancellationToken) =>
        _connection.GuardAsync(call, "photo store", cancellationToken);

    /// <summary>
    /// An object's bytes as a seekable stream: the first GET is the whole object; a seek (ASP.NET
    /// does one to serve an HTTP range) drops it and the next read asks the service for the bytes
    /// from there on, so a range request costs a ranged GET, never the whole object.
    /// </summary>
    private sealed class S3ObjectStream(S3ImageStore store, string key, GetObjectResponse first) : Stream
    {
        private GetObjectResponse? _response = first;
        private long _position;

        public override bool CanRead => true;
        public override bool CanSeek => true;
        public override bool CanWrite => false;
        public override long Length { get; } = first.ContentLength;

        public override long Position
        {
            get => _position;
            set => Seek(value, SeekOrigin.Begin);
        }

        public override long Seek(long offset, SeekOrigin origin)
        {
            var target = origin switch
            {
                SeekOrigin.Begin => offset,
                SeekOrigin.Current => _position + offset,
                _ => Length + offset,
            };
            ArgumentOutOfRangeException.ThrowIfNegative(target, nameof(offset));
            if (target != _position)
            {
                _response?.Dispose();
                _response = null;
                _position = target;
            }

            return _position;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_position >= Length || buffer.Length == 0)
                return 0;
            _response ??= await store.GuardAsync(() => store._s3.GetObjectAsync(new GetObjectRequest
            {
                BucketName = store._bucket,
                Key = key,
                ByteRange = new ByteRange(_position, Length - 1),
            }, cancellationToken), cancellationToken);
            var read = await _response.ResponseStream.ReadAsync(buffer, cancellationToken);
            _position += read;
            return read;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count).GetAwaiter().GetResult();

        public override void Flush()
        {
        }

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
                _response?.Dispose();
            _response = null;
            base.Dispose(disposing);
        }
    }
}
