namespace VehicleImages.Tests.TestHost;

/// <summary>
/// A request body that hands out its first <paramref name="sendFirst"/> bytes and then does what
/// <paramref name="then"/> says: stall until released (<see cref="Stalling"/>) or break the connection
/// (<see cref="Breaking"/>). For chunks cut mid-way.
/// </summary>
public sealed class PartialBodyStream(byte[] bytes, int sendFirst, Func<CancellationToken, Task> then) : Stream
{
    private int _sent;

    /// <summary>
    /// Sends <paramref name="sendFirst"/> bytes, then waits until <paramref name="release"/> completes and ends the body
    /// short of its declared length; <paramref name="stalled"/> completes when it starts waiting. The sender notices a
    /// dead server only once it writes again, so a test that kills the server releases the body after it.
    /// </summary>
    public static PartialBodyStream Stalling(byte[] bytes, int sendFirst, TaskCompletionSource stalled, Task release) =>
        new(bytes, sendFirst, ct =>
        {
            stalled.TrySetResult();
            return release.WaitAsync(ct);
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
