using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using VehicleImages.Tests.TestHost;

namespace VehicleImages.Tests.Uploads;

/// <summary>A tus 1.0.0 client in a few raw requests, so the tests see every header the protocol names.</summary>
internal static class Tus
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static string Metadata(params (string Key, string Value)[] pairs) =>
        string.Join(',', pairs.Select(p => $"{p.Key} {Convert.ToBase64String(Encoding.UTF8.GetBytes(p.Value))}"));

    public static HttpRequestMessage Request(HttpMethod method, string url)
    {
        var request = new HttpRequestMessage(method, url);
        request.Headers.Add("Tus-Resumable", "1.0.0");
        return request;
    }

    /// <summary>
    /// Sends the rest of <paramref name="file"/> from <paramref name="offset"/> as one PATCH, lets
    /// <paramref name="sendFirst"/> bytes of it out, then kills the app process under it (SIGKILL mid-chunk)
    /// and sees the request fail.
    /// </summary>
    public static async Task KillMidChunkAsync(AppProcess app, HttpClient client, string url, byte[] file, int offset, int sendFirst)
    {
        var stalled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var request = Request(HttpMethod.Patch, url);
        request.Headers.Add("Upload-Offset", offset.ToString());
        request.Content = new StreamContent(PartialBodyStream.Stalling(file[offset..], sendFirst, stalled, release.Task));
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/offset+octet-stream");
        request.Content.Headers.ContentLength = file.Length - offset;
        var pending = client.SendAsync(request, Ct);
        await stalled.Task.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        await Task.Delay(300, Ct);
        await app.KillAsync();
        release.SetResult();
        await Assert.ThrowsAnyAsync<Exception>(() => pending);
    }

    public static async Task<HttpResponseMessage> CreateAsync(HttpClient client, Guid vehicleId, string fileName, long length, byte[]? firstChunk = null)
    {
        using var request = Request(HttpMethod.Post, "api/uploads");
        request.Headers.Add("Upload-Length", length.ToString());
        request.Headers.Add("Upload-Metadata", Metadata(("vehicleId", vehicleId.ToString()), ("filename", fileName), ("filetype", "image/jpeg")));
        if (firstChunk is not null)
            request.Content = Chunk(firstChunk);
        return await client.SendAsync(request, Ct);
    }

    /// <summary>Creates an upload and returns its URL (relative to the app).</summary>
    public static async Task<string> StartAsync(HttpClient client, Guid vehicleId, string fileName, long length)
    {
        var response = await CreateAsync(client, vehicleId, fileName, length);
        Assert.Equal(System.Net.HttpStatusCode.Created, response.StatusCode);
        return response.Headers.Location!.OriginalString.TrimStart('/');
    }

    public static ByteArrayContent Chunk(byte[] bytes)
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/offset+octet-stream");
        return content;
    }

    public static async Task<HttpResponseMessage> PatchAsync(HttpClient client, string url, long offset, byte[] bytes, string? checksum = null)
    {
        using var request = Request(HttpMethod.Patch, url);
        request.Headers.Add("Upload-Offset", offset.ToString());
        if (checksum is not null)
            request.Headers.Add("Upload-Checksum", checksum);
        request.Content = Chunk(bytes);
        return await client.SendAsync(request, Ct);
    }

    public static string Sha1(byte[] bytes) => "sha1 " + Convert.ToBase64String(SHA1.HashData(bytes));

    public static async Task<HttpResponseMessage> HeadAsync(HttpClient client, string url)
    {
        using var request = Request(HttpMethod.Head, url);
        return await client.SendAsync(request, Ct);
    }

    public static long Offset(HttpResponseMessage response) => long.Parse(response.Headers.GetValues("Upload-Offset").Single());

    /// <summary>Sends the whole file in chunks of <paramref name="chunkSize"/>, each with its SHA-1.</summary>
    public static async Task SendAllAsync(HttpClient client, string url, byte[] file, int chunkSize, long from = 0)
    {
        for (var offset = from; offset < file.Length; offset += chunkSize)
        {
            var chunk = file[(int)offset..(int)Math.Min(file.Length, offset + chunkSize)];
            var response = await PatchAsync(client, url, offset, chunk, Sha1(chunk));
            Assert.Equal(System.Net.HttpStatusCode.NoContent, response.StatusCode);
            Assert.Equal(offset + chunk.Length, Offset(response));
        }
    }
}
