using System.Net;
using System.Net.Sockets;
using System.Text;

namespace VehicleImages.Rig;

/// <summary>
/// A loopback HTTP proxy in front of the test S3 server that counts the body bytes of requests for
/// the tus upload store's objects (paths under <c>/{bucket}/uploads/</c>): <see cref="Sent"/> to the
/// bucket, <see cref="Fetched"/> from it. What the app moves over the wire, whatever its code says it
/// does. One request per connection (it asks for <c>Connection: close</c>) and answers
/// <c>Expect: 100-continue</c> itself, so it needs no more of HTTP than a request's head.
/// </summary>
public sealed class BucketMeter : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly int _target;
    private readonly CancellationTokenSource _stop = new();
    private long _sent;
    private long _fetched;

    public BucketMeter(Uri target)
    {
        _target = target.Port;
        _listener.Start();
        _ = AcceptAsync();
    }

    public Uri ServiceUrl => new($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}");

    /// <summary>Request body bytes sent to the upload store's objects.</summary>
    public long Sent => Interlocked.Read(ref _sent);

    /// <summary>Response body bytes read from the upload store's objects.</summary>
    public long Fetched => Interlocked.Read(ref _fetched);

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using var _ = client;
        using var upstream = new TcpClient();
        try
        {
            await upstream.ConnectAsync(IPAddress.Loopback, _target, _stop.Token);
            var down = client.GetStream();
            var up = upstream.GetStream();
            if (await ReadHeadAsync(down) is not { } request)
                return;
            var (head, rest) = request;
            var lines = head.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
            var counted = lines[0].Split(' ')[1].Split('?')[0].Contains("/uploads/", StringComparison.Ordinal);
            var length = Header(lines, "Content-Length") is { } l ? long.Parse(l) : 0;
            if (Header(lines, "Expect") is not null)
                await down.WriteAsync("HTTP/1.1 100 Continue\r\n\r\n"u8.ToArray(), _stop.Token);
            var forwarded = string.Join("\r\n", lines.Where(h => !h.StartsWith("Expect:", StringComparison.OrdinalIgnoreCase)
                                                                && !h.StartsWith("Connection:", StringComparison.OrdinalIgnoreCase)))
                            + "\r\nConnection: close\r\n\r\n";
            await up.WriteAsync(Encoding.ASCII.GetBytes(forwarded), _stop.Token);
            await up.WriteAsync(rest, _stop.Token);
            await CopyAsync(down, up, length - rest.Length);
            if (counted)
                Interlocked.Add(ref _sent, length);

            if (await ReadHeadAsync(up) is not { } response)
                return;
            var (responseHead, body) = response;
            await down.WriteAsync(Encoding.ASCII.GetBytes(responseHead), _stop.Token);
            await down.WriteAsync(body, _stop.Token);
            var fetched = body.Length + await CopyAsync(up, down, long.MaxValue);
            if (counted)
                Interlocked.Add(ref _fetched, fetched);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // A connection the app or the server dropped: nothing more to count.
        }
    }

    private static string? Header(IEnumerable<string> lines, string name) =>
        lines.Skip(1).FirstOrDefault(h => h.StartsWith(name + ":", StringComparison.OrdinalIgnoreCase))?[(name.Length + 1)..].Trim();

    /// <summary>A message's head (through the blank line) and the bytes read after it; null at once-closed connections.</summary>
    private async Task<(string Head, byte[] After)?> ReadHeadAsync(NetworkStream stream)
    {
        var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        while (true)
        {
            var n = await stream.ReadAsync(chunk, _stop.Token);
            if (n == 0)
                return null;
            buffer.Write(chunk, 0, n);
            var bytes = buffer.GetBuffer().AsSpan(0, (int)buffer.Length);
            var end = bytes.IndexOf("\r\n\r\n"u8);
            if (end >= 0)
                return (Encoding.ASCII.GetString(bytes[..(end + 4)]), bytes[(end + 4)..].ToArray());
        }
    }

    private async Task<long> CopyAsync(Stream from, Stream to, long most)
    {
        var buffer = new byte[64 * 1024];
        long copied = 0;
        while (copied < most)
        {
            var n = await from.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, most - copied)), _stop.Token);
            if (n == 0)
                break;
            await to.WriteAsync(buffer.AsMemory(0, n), _stop.Token);
            copied += n;
        }

        return copied;
    }

    public ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        _stop.Dispose();
        return ValueTask.CompletedTask;
    }
}
