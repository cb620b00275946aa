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
/// any other (Storage:Provider=S3; docs/decisions/014). A chunk of at least <see cref="MinPartSize"/>
/// (or the last one) that follows the parts directly becomes parts of one S3 multipart upload per tus
/// upload (object <c>uploads/{id}/file</c>); any other chunk becomes a piece of its own,
/// <c>uploads/{id}/piece-{offset}</c>, and every chunk after a piece becomes a piece too. No byte is
/// fetched back or sent twice while an upload runs (tusd's s3store, which this began as, fetched the
/// pending bytes and re-sent them with every chunk: a 5 MiB part in 256 KiB chunks moved about 20×
/// its bytes). The
/// truth is the database row: its offset counts the parts it lists (<see cref="ResumableUpload.StorageParts"/>)
/// and the pieces after them, and moves only after they are stored; a piece no offset counts is
/// ignored and replaced. A chunk is received into a local temporary file under the upload's hold
/// (checksum and Upload-Length are checked before a byte reaches the bucket). At the end the parts
/// are completed into one object and the ingest reads it and then each piece, in order.
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

    /// <summary>The pending object of the format before pieces: the bytes after the parts, in one object named by the part it would begin.</summary>
    public static string PendingKey(Guid id, int part) => Prefix(id) + $"pending-{part}";

    /// <summary>A piece: one chunk's bytes that did not become parts, named by the upload offset it starts at (zero-padded, so names sort by offset).</summary>
    public static string PieceKey(Guid id, long start) => Prefix(id) + $"{PiecePrefix}{start:D15}";

    private const string PiecePrefix = "piece-";

    public async Task<ChunkWrite> WriteAsync(UploadWrite write, Stream chunk, CancellationToken cancellationToken)
    {
        var upload = write.Upload;
        // The hold before anything else: a second request for this upload (an empty one, one of many in
        // parallel) costs one statement and a 409, and never a byte of the bucket's.
        await using var hold = await write.TryHoldAsync(CancellationToken.None)
                               ?? throw new UploadBusyException("Another request is writing this upload; ask HEAD and resume.");
        if (!await write.StillAtOffsetAsync(CancellationToken.None))
            return new ChunkWrite(ChunkWriteOutcome.Moved);

        var buffer = new byte[128 * 1024];
        var read = await chunk.ReadAsync(buffer, cancellationToken);
        // An empty chunk: nothing to store, nothing to renew (its checksum, if it named one, is still judged).
        if (read == 0)
            return new ChunkWrite(write.Keep() ? ChunkWriteOutcome.Committed : ChunkWriteOutcome.Discarded);

        var parts = UploadParts.Parse(upload.StorageParts);
        var inParts = parts.Sum(p => p.Size);
        var pending = write.Offset - inParts;
        if (pending < 0)
            throw new InvalidOperationException($"Upload {upload.Id}: its parts hold more bytes than its offset {write.Offset}.");

        var temp = _store.CreateTempPath();
        try
        {
            // The body into one local file (judged before a byte reaches the bucket) whose ranges become parts or a piece.
            long written = 0;
            await using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1, useAsync: true))
            {
                do
                {
                    await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                    written += read;
                }
                while ((read = await chunk.ReadAsync(buffer, cancellationToken)) > 0);
            }

            if (!write.Keep())
                return new ChunkWrite(ChunkWriteOutcome.Discarded);

            var final = write.Offset + written == upload.Length;
            string? newParts = null;
            // Parts only while nothing waits after them (a part must follow the last one directly), and
            // only of at least a part's size, or the last. Anything else becomes a piece of its own, so no
            // byte is ever fetched back from the bucket or sent to it twice.
            if (pending == 0 && (written >= MinPartSize || (final && parts.Count > 0)))
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
                foreach (var size in PartSizes(written))
                {
                    var number = parts.Count + 1 + added.Count;
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
            else
            {
                // Named by its offset: a crash before the commit leaves it at the row's offset, where the
                // next chunk's piece replaces it (or below the parts, where nothing reads it).
                await GuardAsync(() => _s3.PutObjectAsync(new PutObjectRequest
                {
                    BucketName = _bucket, Key = PieceKey(upload.Id, write.Offset), FilePath = temp,
                    UseChunkEncoding = false, DisablePayloadSigning = _unsignedPayload,
                }, CancellationToken.None), CancellationToken.None);
            }

            return await write.CommitAsync(written, newParts, CancellationToken.None)
                ? new ChunkWrite(ChunkWriteOutcome.Committed, written)
                : new ChunkWrite(ChunkWriteOutcome.Moved);
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
        var inParts = parts.Sum(p => p.Size);
        var segments = new List<Func<CancellationToken, Task<Stream>>>();
        if (parts.Count > 0 && upload.StorageUploadId is not null)
        {
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

            segments.Add(ct => OpenAsync(FileKey(upload.Id), inParts, ct));
        }
        else
        {
            inParts = 0;
        }

        if (inParts < upload.Length)
        {
            // The pieces after the parts, each where the one before it ends.
            var pieces = await PiecesAsync(upload, parts.Count, inParts, cancellationToken);
            var position = inParts;
            while (position < upload.Length)
            {
                if (!pieces.TryGetValue(position, out var piece))
                    return null;
                var size = Math.Min(piece.Size, upload.Length - position);
                if (size <= 0)
                    return null;
                segments.Add(ct => OpenAsync(piece.Key, size, ct));
                position += size;
            }
        }

        return segments.Count == 0 && upload.Length > 0 ? null : new Concatenated(segments);
    }

    /// <summary>The upload's pieces at or after the parts, by the offset each starts at (the old format's one pending object starts right after the parts).</summary>
    private async Task<Dictionary<long, (string Key, long Size)>> PiecesAsync(ResumableUpload upload, int partCount, long inParts, CancellationToken cancellationToken)
    {
        var pieces = new Dictionary<long, (string Key, long Size)>();
        var request = new ListObjectsV2Request { BucketName = _bucket, Prefix = Prefix(upload.Id) };
        while (true)
        {
            var page = await GuardAsync(() => _s3.ListObjectsV2Async(request, cancellationToken), cancellationToken);
            foreach (var o in page.S3Objects ?? [])
            {
                var name = o.Key[Prefix(upload.Id).Length..];
                long? start = name.StartsWith(PiecePrefix, StringComparison.Ordinal) && long.TryParse(name[PiecePrefix.Length..], out var at) ? at
                    : o.Key == PendingKey(upload.Id, partCount + 1) ? inParts : null;
                if (start is { } s && s >= inParts)
                    pieces[s] = (o.Key, o.Size ?? 0);
            }

            if (page.IsTruncated != true)
                return pieces;
            request.ContinuationToken = page.NextContinuationToken;
        }
    }

    /// <summary>One segment's bytes; none when its object is gone (the stream then ends short, and the ingest says the bytes are gone).</summary>
    private async Task<Stream> OpenAsync(string key, long size, CancellationToken cancellationToken)
    {
        try
        {
            var response = await GuardAsync(() => _s3.GetObjectAsync(new GetObjectRequest
            {
                BucketName = _bucket, Key = key, ByteRange = new ByteRange(0, size - 1),
            }, cancellationToken), cancellationToken);
            return new ResponseStream(response);
        }
        catch (StoreUnavailableException e) when (e.InnerException is AmazonS3Exception { StatusCode: HttpStatusCode.NotFound, ErrorCode: not "NoSuchBucket" })
        {
            return Stream.Null;
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


    private Task<T> GuardAsync<T>(Func<Task<T>> call, CancellationToken cancellationToken) =>
        _connection.GuardAsync(call, "upload store", cancellationToken);

    /// <summary>The upload's bytes as one stream: each segment (the completed parts, then each piece) opened when the one before ends.</summary>
    private sealed class Concatenated(List<Func<CancellationToken, Task<Stream>>> segments) : Stream
    {
        private int _next;
        private Stream? _current;

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            while (true)
            {
                if (_current is null)
                {
                    if (_next == segments.Count)
                        return 0;
                    _current = await segments[_next++](cancellationToken);
                }

                var n = await _current.ReadAsync(buffer, cancellationToken);
                if (n > 0 || buffer.Length == 0)
                    return n;
                await _current.DisposeAsync();
                _current = null;
            }
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
                _current?.Dispose();
            base.Dispose(disposing);
        }
    }

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
