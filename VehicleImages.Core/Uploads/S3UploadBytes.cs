using System.Net;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Microsoft.Extensions.Logging;
using VehicleImages.Core.Storage;

namespace VehicleImages.Core.Uploads;

/// <summary>
/// Bytes of unfinished uploads in the bucket, so that an upload begun on one instance resumes on
/// any other (Storage:Provider=S3; docs/decisions/014). Shaped after tusd's s3store: the bytes go
/// into one S3 multipart upload per tus upload (object <c>uploads/{id}/file</c>), in parts of at
/// least <see cref="MinPartSize"/> except the last; a chunk that leaves fewer bytes than that waits
/// in a pending object <c>uploads/{id}/pending-{n}</c> (n: the part it will begin) until enough
/// arrive. Unlike tusd the truth is the database row: its offset counts the parts it lists
/// (<see cref="ResumableUpload.StorageParts"/>) plus the pending bytes, and moves only after they
/// are stored. A chunk is received into a local temporary file first (checksum and Upload-Length
/// are checked before a byte reaches the bucket), then written under a hold on the upload.
/// </summary>
public sealed class S3UploadBytes : IUploadBytes
{
    /// <summary>S3's smallest part but the last.</summary>
    public const long MinPartSize = 5L * 1024 * 1024;

    /// <summary>A chunk is cut into parts of at most this (and, being at least twice <see cref="MinPartSize"/>, never leaves one under it).</summary>
    public const long MaxPartSize = 16L * 1024 * 1024;

    private readonly S3Connection _connection;
    private readonly AmazonS3Client _s3;
    private readonly string _bucket;
    private readonly bool _unsignedPayload;
    private readonly string _description;
    private readonly IImageStore _store;
    private readonly ILogger<S3UploadBytes> _logger;

    public S3UploadBytes(S3Connection bucket, IImageStore store, ILogger<S3UploadBytes> logger)
    {
        _connection = bucket;
        _s3 = bucket.Client;
        _bucket = bucket.Name;
        _unsignedPayload = bucket.UnsignedPayload;
        _description = bucket.Description;
        _store = store;
        _logger = logger;
    }

    public static string Prefix(Guid id) => $"uploads/{id:N}/";

    public static string FileKey(Guid id) => Prefix(id) + "file";

    public static string PendingKey(Guid id, int part) => Prefix(id) + $"pending-{part}";

    public async Task<ChunkWrite> WriteAsync(UploadWrite write, Stream chunk, CancellationToken cancellationToken)
    {
        var upload = write.Upload;
        var parts = UploadParts.Parse(upload.StorageParts);
        var next = parts.Count + 1;
        var pending = write.Offset - parts.Sum(p => p.Size);
        if (pending < 0)
            throw new InvalidOperationException($"Upload {upload.Id}: its parts hold more bytes than its offset {write.Offset}.");

        var temp = _store.CreateTempPath();
        try
        {
            // The pending bytes first (fewer than a part), then the body: one local file whose ranges become parts.
            long written = 0;
            await using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1, useAsync: true))
            {
                if (pending > 0)
                {
                    using var response = await GuardAsync(() => _s3.GetObjectAsync(new GetObjectRequest
                    {
                        BucketName = _bucket, Key = PendingKey(upload.Id, next), ByteRange = new ByteRange(0, pending - 1),
                    }, cancellationToken), cancellationToken);
                    await response.ResponseStream.CopyToAsync(file, cancellationToken);
                    if (file.Length != pending)
                        throw new IOException($"Upload {upload.Id}: its pending object holds {file.Length} bytes, not {pending}.");
                }

                var buffer = new byte[128 * 1024];
                int read;
                while ((read = await chunk.ReadAsync(buffer, cancellationToken)) > 0)
                {
                    await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                    written += read;
                }
            }

            if (!write.Keep())
                return new ChunkWrite(ChunkWriteOutcome.Discarded);
            if (written == 0)
                return await write.CommitAsync(0, null, CancellationToken.None)
                    ? new ChunkWrite(ChunkWriteOutcome.Committed)
                    : new ChunkWrite(ChunkWriteOutcome.Moved);

            // From here on the bucket changes: one writer per upload across every instance.
            await using var hold = await write.TryHoldAsync(CancellationToken.None)
                                   ?? throw new UploadBusyException("Another request is writing this upload; ask HEAD and resume.");
            if (!await write.StillAtOffsetAsync(CancellationToken.None))
                return new ChunkWrite(ChunkWriteOutcome.Moved);

            var total = pending + written;
            var final = write.Offset + written == upload.Length;
            string? newParts = null;
            if (total < MinPartSize && !final)
            {
                // Too few bytes for a part: they wait as the pending object. Its first bytes are the
                // ones the row already counts, so a crash before the commit below changes nothing that counts.
                await using var tail = new MemoryStream(await File.ReadAllBytesAsync(temp, cancellationToken), writable: false);
                await GuardAsync(() => _s3.PutObjectAsync(new PutObjectRequest
                {
                    BucketName = _bucket, Key = PendingKey(upload.Id, next), InputStream = tail, AutoCloseStream = false,
                    UseChunkEncoding = false, DisablePayloadSigning = _unsignedPayload,
                }, CancellationToken.None), CancellationToken.None);
            }
            else
            {
                var storageUploadId = upload.StorageUploadId;
                if (storageUploadId is null)
                {
                    var created = await GuardAsync(() => _s3.InitiateMultipartUploadAsync(new InitiateMultipartUploadRequest
                    {
                        BucketName = _bucket, Key = FileKey(upload.Id),
                    }, CancellationToken.None), CancellationToken.None);
                    storageUploadId = created.UploadId;
                    // Named in the row before any part goes in: termination and expiry can always abort it.
                    if (!await write.SaveStorageUploadIdAsync(storageUploadId, CancellationToken.None))
                    {
                        await AbortAsync(upload.Id, storageUploadId, [], CancellationToken.None);
                        return new ChunkWrite(ChunkWriteOutcome.Moved);
                    }
                }

                var added = new List<UploadPart>();
                long position = 0;
                foreach (var size in PartSizes(total))
                {
                    var number = next + added.Count;
                    var from = position;
                    var response = await GuardAsync(() => _s3.UploadPartAsync(new UploadPartRequest
                    {
                        BucketName = _bucket, Key = FileKey(upload.Id), UploadId = storageUploadId, PartNumber = number,
                        FilePath = temp, FilePosition = from, PartSize = size,
                        UseChunkEncoding = false, DisablePayloadSigning = _unsignedPayload,
                    }, CancellationToken.None), CancellationToken.None);
                    added.Add(new UploadPart(number, response.ETag, size));
                    position += size;
                }

                newParts = UploadParts.Format([.. parts, .. added]);
            }

            if (!await write.CommitAsync(written, newParts, CancellationToken.None))
                return new ChunkWrite(ChunkWriteOutcome.Moved);
            if (newParts is not null && pending > 0)
                await DeleteQuietlyAsync(PendingKey(upload.Id, next));
            return new ChunkWrite(ChunkWriteOutcome.Committed, written);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    /// <summary>How <paramref name="total"/> bytes are cut: parts of at most <see cref="MaxPartSize"/>, as even as can be (so each is at least half of it).</summary>
    public static IEnumerable<long> PartSizes(long total)
    {
        var count = (total + MaxPartSize - 1) / MaxPartSize;
        for (long i = 0; i < count; i++)
            yield return total / count + (i < total % count ? 1 : 0);
    }

    public async Task<Stream?> OpenReadAsync(ResumableUpload upload, CancellationToken cancellationToken)
    {
        var parts = UploadParts.Parse(upload.StorageParts);
        if (parts.Count == 0 || upload.StorageUploadId is null)
            return upload.Length == 0 ? new MemoryStream([], writable: false) : null;
        try
        {
            await GuardAsync(() => _s3.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
            {
                BucketName = _bucket, Key = FileKey(upload.Id), UploadId = upload.StorageUploadId,
                PartETags = parts.Select(p => new PartETag(p.Number, p.ETag)).ToList(),
            }, cancellationToken), cancellationToken);
        }
        catch (StoreUnavailableException e) when (e.InnerException is AmazonS3Exception { ErrorCode: "NoSuchUpload" })
        {
            // Completed already (by a finisher whose instance died after it): the object is there.
        }

        try
        {
            var response = await GuardAsync(() => _s3.GetObjectAsync(new GetObjectRequest { BucketName = _bucket, Key = FileKey(upload.Id) }, cancellationToken), cancellationToken);
            return new ResponseStream(response);
        }
        catch (StoreUnavailableException e) when (e.InnerException is AmazonS3Exception { StatusCode: HttpStatusCode.NotFound, ErrorCode: not "NoSuchBucket" })
        {
            return null;
        }
    }

    public async Task DeleteAsync(ResumableUpload upload, CancellationToken cancellationToken)
    {
        if (upload.StorageUploadId is { } storageUploadId)
            await AbortAsync(upload.Id, storageUploadId, UploadParts.Parse(upload.StorageParts), cancellationToken);
        var request = new ListObjectsV2Request { BucketName = _bucket, Prefix = Prefix(upload.Id) };
        while (true)
        {
            var page = await GuardAsync(() => _s3.ListObjectsV2Async(request, cancellationToken), cancellationToken);
            foreach (var o in page.S3Objects ?? [])
                await GuardAsync(() => _s3.DeleteObjectAsync(_bucket, o.Key, cancellationToken), cancellationToken);
            if (page.IsTruncated != true)
                return;
            request.ContinuationToken = page.NextContinuationToken;
        }
    }

    /// <summary>
    /// Ends the multipart upload and frees its parts. A service without AbortMultipartUpload (s3rver
    /// 3.7.1 answers it with MethodNotAllowed) gets the upload completed into its own object instead,
    /// which frees the parts the same way; the caller then deletes that object with the rest.
    /// </summary>
    private async Task AbortAsync(Guid id, string storageUploadId, IReadOnlyList<UploadPart> parts, CancellationToken cancellationToken)
    {
        try
        {
            await GuardAsync(() => _s3.AbortMultipartUploadAsync(new AbortMultipartUploadRequest
            {
                BucketName = _bucket, Key = FileKey(id), UploadId = storageUploadId,
            }, cancellationToken), cancellationToken);
            return;
        }
        catch (StoreUnavailableException e) when (e.InnerException is AmazonS3Exception { ErrorCode: "NoSuchUpload" })
        {
            return;
        }
        catch (StoreUnavailableException e) when (e.InnerException is AmazonS3Exception { ErrorCode: "MethodNotAllowed" or "NotImplemented" })
        {
            _logger.LogDebug("{Store} does not abort multipart uploads; completing upload {Id} to delete it", _description, id);
        }

        try
        {
            var etags = parts.Select(p => new PartETag(p.Number, p.ETag)).ToList();
            if (etags.Count == 0)
            {
                await using var empty = new MemoryStream([], writable: false);
                var part = await GuardAsync(() => _s3.UploadPartAsync(new UploadPartRequest
                {
                    BucketName = _bucket, Key = FileKey(id), UploadId = storageUploadId, PartNumber = 1, InputStream = empty,
                    UseChunkEncoding = false, DisablePayloadSigning = _unsignedPayload,
                }, cancellationToken), cancellationToken);
                etags.Add(new PartETag(1, part.ETag));
            }

            await GuardAsync(() => _s3.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
            {
                BucketName = _bucket, Key = FileKey(id), UploadId = storageUploadId, PartETags = etags,
            }, cancellationToken), cancellationToken);
        }
        catch (StoreUnavailableException e) when (e.InnerException is AmazonS3Exception)
        {
            // Completed already (the upload was finished and ingested): nothing is left but the object.
            _logger.LogDebug(e, "Completing upload {Id} to delete it: {Reason}", id, e.Message);
        }
    }

    public async IAsyncEnumerable<(Guid Id, DateTimeOffset Modified)> ListAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var newest = new Dictionary<Guid, DateTimeOffset>();
        var request = new ListObjectsV2Request { BucketName = _bucket, Prefix = "uploads/" };
        while (true)
        {
            var page = await GuardAsync(() => _s3.ListObjectsV2Async(request, cancellationToken), cancellationToken);
            foreach (var o in page.S3Objects ?? [])
            {
                var segments = o.Key.Split('/');
                if (segments.Length < 3 || !Guid.TryParseExact(segments[1], "N", out var id))
                    continue;
                var modified = o.LastModified is { } m ? new DateTimeOffset(m.ToUniversalTime(), TimeSpan.Zero) : DateTimeOffset.MinValue;
                newest[id] = newest.TryGetValue(id, out var seen) && seen > modified ? seen : modified;
            }

            if (page.IsTruncated != true)
                break;
            request.ContinuationToken = page.NextContinuationToken;
        }

        foreach (var (id, modified) in newest)
            yield return (id, modified);
    }


    private async Task DeleteQuietlyAsync(string key)
    {
        try
        {
            await GuardAsync(() => _s3.DeleteObjectAsync(_bucket, key, CancellationToken.None), CancellationToken.None);
        }
        catch (StoreUnavailableException e)
        {
            // Harmless: nothing counts its bytes any more, and termination, completion or the sweep deletes it.
            _logger.LogWarning("Could not delete {Key} from the {Store}: {Reason}", key, _description, e.Message);
        }
    }

    private Task<T> GuardAsync<T>(Func<Task<T>> call, CancellationToken cancellationToken) =>
        _connection.GuardAsync(call, "upload store", cancellationToken);

    private sealed class ResponseStream(GetObjectResponse response) : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => response.ContentLength;
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            response.ResponseStream.ReadAsync(buffer, cancellationToken);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            response.ResponseStream.ReadAsync(buffer, offset, count, cancellationToken);

        public override int Read(byte[] buffer, int offset, int count) => response.ResponseStream.Read(buffer, offset, count);
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
                response.Dispose();
            base.Dispose(disposing);
        }
    }
}

/// <summary>One part of an upload's S3 multipart upload, as the row lists it.</summary>
public sealed record UploadPart(int Number, string ETag, long Size);

public static class UploadParts
{
    public static IReadOnlyList<UploadPart> Parse(string? json) =>
        string.IsNullOrEmpty(json) ? [] : JsonSerializer.Deserialize<List<UploadPart>>(json) ?? [];

    public static string Format(IEnumerable<UploadPart> parts) => JsonSerializer.Serialize(parts);
}
