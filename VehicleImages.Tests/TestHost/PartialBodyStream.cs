namespace VehicleImages.Tests.TestHost;

/// <summary>
/// A request body that hands out its first <paramref name="sendFirst"/> bytes and then does what
/// <paramref name="then"/> says: stall until the other end dies (<see cref="Stalling"/>) or break the
/// connection (<see cref="Breaking"/>). For chunks cut mid-way.
/// </summary>
public sealed class PartialBodyStream(byte[] bytes, int sendFirst, Func<CancellationToken, Task> then) : Stream
{
    private int _sent;

    /// <summary>Sends <paramref name="sendFirst"/> bytes, then waits forever; <paramref name="stalled"/> completes when it starts waiting.</summary>
    public static PartialBodyStream Stalling(byte[] bytes, int sendFirst, TaskCompletionSource stalled) =>
        new(bytes, sendFirst, ct =>
        {
            stalled.TrySetResult();
            return Task.Delay(Timeout.Infinite, ct);
        });

    /// <summary>Sends <paramref name="sendFirst"/> bytes, then fails the body as a dropped connection does.</summary>
    public static PartialBodyStream Breaking(byte[] bytes, int sendFirst) =>
        new(bytes, sendFirst, async ct =>
        {
            await Task.Delay(200, ct);
            throw new IOException("the connection broke");
        });

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_sent >= sendFirst)
            await then(cancellationToken);

        var n = Math.Min(buffer.Length, sendFirst - _sent);
        bytes.AsMemory(_sent, n).CopyTo(buffer);
        _sent += n;
        return n;
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => bytes.Length;
    public override long Position { get => _sent; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
