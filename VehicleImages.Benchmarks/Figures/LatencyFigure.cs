using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR.Client;
using static VehicleImages.Benchmarks.Support.Measures;
using static VehicleImages.Benchmarks.Support.Photos;

namespace VehicleImages.Benchmarks.Figures;

internal sealed class LatencyFigure : IFigure
{
    public string Name => "latency";
    public string Description => "upload answer → processing / complete at a SignalR client of another instance, provider 300 ms: median ≤ 100 ms beyond the provider";
    public bool InAll => true;
    public Need Needs => Need.None;

    public async Task<IReadOnlyList<Row>> RunAsync(FigureContext context) => [await LatencyAsync(context.Admin, context.Work)];

    public static async Task<Row> LatencyAsync(string admin, string work)
    {
        var providerTime = TimeSpan.FromMilliseconds(300);
        await using var fake = await FakeOpenAiServer.StartForBenchmarksAsync(providerTime);
        var cs = await Rig.DatabaseAsync(admin);
        var storage = Directory.CreateDirectory(Path.Combine(work, "storage-latency")).FullName;
        var provider = new Dictionary<string, string>
        {
            ["Analysis__Provider"] = "OpenAI", ["Analysis__Endpoint"] = fake.Endpoint.ToString(), ["Analysis__RequestsPerMinute"] = "6000",
        };
        await using var web = await Rig.StartAppAsync(cs, storage, new Dictionary<string, string>(provider) { ["Processing__Workers"] = "0" });
        await using var worker = await Rig.StartAppAsync(cs, storage, provider);
        var (client, token) = await Rig.UserAsync(web.BaseAddress, "latency@example.test");
        var vehicle = await Rig.VehicleAsync(client);
        var events = new ConcurrentDictionary<(Guid, string), DateTimeOffset>();
        await using var hub = new HubConnectionBuilder()
            .WithUrl(new Uri(worker.BaseAddress, "hubs/processing"), o => o.AccessTokenProvider = () => Task.FromResult<string?>(token))
            .Build();
        hub.On<JsonElement>("ImageStatusChanged", m =>
            events.TryAdd((m.GetProperty("imageId").GetGuid(), m.GetProperty("processingStatus").GetString()!), DateTimeOffset.UtcNow));
        await hub.StartAsync();

        var photo = File.ReadAllBytes(MakeJpegs(Path.Combine(work, "latency"), 1, 1600, 1200)[0]);
        var toProcessing = new List<double>();
        var toComplete = new List<double>();
        for (var i = 0; i < 20; i++)
        {
            var bytes = photo.Concat(BitConverter.GetBytes(i)).ToArray();
            var result = await Rig.UploadAsync(client, vehicle, $"l{i}.jpg", bytes);
            var answered = DateTimeOffset.UtcNow;
            var id = result.GetProperty("imageId").GetGuid();
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (!events.ContainsKey((id, "complete")) && DateTime.UtcNow < deadline)
                await Task.Delay(5);
            if (events.TryGetValue((id, "processing"), out var p))
                toProcessing.Add((p - answered).TotalMilliseconds);
            if (events.TryGetValue((id, "complete"), out var c))
                toComplete.Add((c - answered - providerTime).TotalMilliseconds);
        }

        var (medianProcessing, medianComplete) = (Median(toProcessing), Median(toComplete));
        return new("latency: upload answer → processing / complete at a client of another instance",
            $"{medianProcessing:0} ms / {medianComplete:0} ms beyond the provider", "provider 300 ms",
            $"median {Math.Max(medianProcessing, medianComplete):0} ms", "median ≤ 100 ms beyond the provider",
            toComplete.Count == 20 && medianProcessing <= 100 && medianComplete <= 100);
    }
}
