using System.Diagnostics;

namespace VehicleImages.Benchmarks.Support;

/// <summary>s3rver (scripts/s3, installed by bench.sh with npm ci) on a free loopback port.</summary>
internal sealed class S3rver(Process process, string serviceUrl) : IAsyncDisposable
{
    public string ServiceUrl { get; } = serviceUrl;
    public int Pid => process.Id;

    public static async Task<S3rver> StartAsync(string work)
    {
        var port = Rig.FreePort();
        var data = Directory.CreateDirectory(Path.Combine(work, "s3rver")).FullName;
        var start = new ProcessStartInfo("node") { WorkingDirectory = Path.Combine(Rig.Root, "scripts", "s3"), RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "--openssl-legacy-provider", "node_modules/s3rver/bin/s3rver.js", "-d", data, "-a", "127.0.0.1", "-p", port.ToString(), "--silent" })
            start.ArgumentList.Add(a);
        var process = Process.Start(start)!;
        _ = process.StandardOutput.ReadToEndAsync();
        _ = process.StandardError.ReadToEndAsync();
        for (var i = 0; i < 300; i++)
        {
            try
            {
                using var tcp = new System.Net.Sockets.TcpClient();
                await tcp.ConnectAsync(System.Net.IPAddress.Loopback, port);
                return new S3rver(process, $"http://127.0.0.1:{port}");
            }
            catch (System.Net.Sockets.SocketException)
            {
                if (process.HasExited)
                    throw new InvalidOperationException("s3rver exited at start-up (run npm ci in scripts/s3)");
                await Task.Delay(100);
            }
        }

        throw new TimeoutException("s3rver did not start");
    }

    public async ValueTask DisposeAsync()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        process.Dispose();
    }
}
