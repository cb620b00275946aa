using System.Diagnostics;
using Npgsql;
using static VehicleImages.Benchmarks.Support.Photos;

namespace VehicleImages.Benchmarks.Figures;

internal sealed class OutageFigure : IFigure
{
    public string Name => "outage";
    public string Description => "100 photos, provider answering 500 for 120 s, 2 instances: 0 failed, ≤ 16 calls while down, last photo ≤ 20 s after the first successful probe";
    public bool InAll => true;
    public Need Needs => Need.None;

    public async Task<IReadOnlyList<Row>> RunAsync(FigureContext context) => await OutageAsync(context.Admin, context.Work);

    /// <summary>
    /// A provider outage: two instances sharing the database and storage, the fake provider down
    /// (500 to every call) for <c>outage</c> while 100 photos wait, then back. Counts the photos that
    /// failed, the calls the provider received while down (against 2 per BreakSeconds per instance),
    /// and how long after the recovery the last photo is complete (against 100 / rate + 10 s),
    /// measured both from the recovery itself and from the first successful probe.
    /// </summary>
    public static async Task<List<Row>> OutageAsync(string admin, string work)
    {
        const int photos = 100, instances = 2, breakSeconds = 30, perMinute = 600;
        var outage = TimeSpan.FromMinutes(2);
        await using var fake = await FakeOpenAiServer.StartForBenchmarksAsync(TimeSpan.FromMilliseconds(50));
        var cs = await Rig.DatabaseAsync(admin);
        var storage = Directory.CreateDirectory(Path.Combine(work, "storage-outage")).FullName;
        var settings = new Dictionary<string, string>
        {
            ["Analysis__Provider"] = "OpenAI", ["Analysis__Endpoint"] = fake.Endpoint.ToString(),
            ["Analysis__RequestsPerMinute"] = perMinute.ToString(), ["Analysis__BreakSeconds"] = breakSeconds.ToString(),
            ["Processing__MaxAttempts"] = "4", // the default retry delays (5, 15, 60 s)
        };
        await using var a = await Rig.StartAppAsync(cs, storage, settings);
        await using var b = await Rig.StartAppAsync(cs, storage, settings);
        var (client, _) = await Rig.UserAsync(a.BaseAddress, "outage@example.test");
        var vehicle = await Rig.VehicleAsync(client);
        var photo = File.ReadAllBytes(MakeJpegs(Path.Combine(work, "outage"), 1, 1200, 900)[0]);
        await using var db = new NpgsqlConnection(cs);
        await db.OpenAsync();

        async Task<(long Complete, long Failed, long Other)> StatusAsync()
        {
            long complete = 0, failed = 0, other = 0;
            await using var cmd = new NpgsqlCommand("SELECT processing_status, count(*) FROM vehicle_images GROUP BY 1", db);
            await using var r = await cmd.ExecuteReaderAsync();
            while (await r.ReadAsync())
            {
                var n = r.GetInt64(1);
                switch (r.GetString(0))
                {
                    case "complete": complete += n; break;
                    case "failed": failed += n; break;
                    default: other += n; break;
                }
            }

            return (complete, failed, other);
        }

        async Task<(string State, DateTimeOffset Since)?> ProviderAsync()
        {
            await using var cmd = new NpgsqlCommand("SELECT state, since FROM analysis_providers WHERE name = 'OpenAI'", db);
            await using var r = await cmd.ExecuteReaderAsync();
            return await r.ReadAsync() ? (r.GetString(0), r.GetFieldValue<DateTimeOffset>(1)) : null;
        }

        // Down, then the photos arrive; the provider stays down for the outage from this moment.
        fake.Down = true;
        var downAt = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < photos; i++)
        {
            var result = await Rig.UploadAsync(client, vehicle, $"o{i}.jpg", photo.Concat(BitConverter.GetBytes(i)).ToArray());
            if (result.GetProperty("outcome").GetString() != "created")
                throw new InvalidOperationException("upload not created: " + result);
        }

        Console.Error.WriteLine($"outage: {photos} photos uploaded in {clock.Elapsed.TotalSeconds:0.0} s with the provider down");
        long maxFailedSeen = 0;
        DateTimeOffset? unavailableSince = null;
        var nextReport = TimeSpan.Zero;
        while (clock.Elapsed < outage)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(250));
            var (complete, failed, other) = await StatusAsync();
            maxFailedSeen = Math.Max(maxFailedSeen, failed);
            var state = await ProviderAsync();
            if (state is { State: "unavailable" } s)
                unavailableSince ??= s.Since;
            if (clock.Elapsed >= nextReport)
            {
                Console.Error.WriteLine($"outage: +{clock.Elapsed.TotalSeconds:0} s down: {fake.CallsWhileDown} calls received, provider {state?.State ?? "?"}, " +
                    $"photos {complete} complete / {failed} failed / {other} waiting");
                nextReport = TimeSpan.FromSeconds((Math.Floor(clock.Elapsed.TotalSeconds / 15) + 1) * 15); // every 15 s mark
            }
        }

        fake.Down = false;
        var upAt = DateTimeOffset.UtcNow;
        var downFor = upAt - downAt;
        var callsWhileDown = fake.CallsWhileDownAt.Select(t => (t - downAt).TotalSeconds).Order().ToList();
        Console.Error.WriteLine($"outage: provider back after {downFor.TotalSeconds:0.0} s; calls while down at +s: " +
            string.Join(", ", callsWhileDown.Select(t => t.ToString("0.0"))));

        // Recovery: until every photo is complete or failed (bounded, should the photos never go on).
        var recovery = Stopwatch.StartNew();
        TimeSpan? lastDone = null;
        while (recovery.Elapsed < TimeSpan.FromMinutes(2))
        {
            var (complete, failed, _) = await StatusAsync();
            maxFailedSeen = Math.Max(maxFailedSeen, failed);
            if (complete + failed >= photos)
            {
                lastDone = recovery.Elapsed;
                break;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100));
        }

        var final = await StatusAsync();
        var firstProbe = fake.AcceptedAt.Where(t => t >= upAt).DefaultIfEmpty(DateTimeOffset.MaxValue).Min();
        var probeAfter = firstProbe == DateTimeOffset.MaxValue ? (TimeSpan?)null : firstProbe - upAt;
        long everFailed, spentAttempts;
        await using (var cmd = new NpgsqlCommand("SELECT count(DISTINCT image_id) FROM image_processing_attempts WHERE outcome = 'failed'", db))
            everFailed = (long)(await cmd.ExecuteScalarAsync())!;
        // Attempts the outage cost that were not given back: a photo completed by its first attempt has attempt 1
        // (a completed job's record is its completing attempt, ADR 017).
        await using (var cmd = new NpgsqlCommand("SELECT coalesce(sum(attempt - 1), 0) FROM image_processing_attempts WHERE outcome = 'complete'", db))
            spentAttempts = (long)(await cmd.ExecuteScalarAsync())!;
        Console.Error.WriteLine($"outage: recovery: first successful probe +{probeAfter?.TotalSeconds:0.0} s, last photo done +{lastDone?.TotalSeconds:0.0} s; " +
            $"photos {final.Complete} complete / {final.Failed} failed / {final.Other} not done; {everFailed} ever failed; " +
            $"{spentAttempts} attempts spent and not given back; {fake.Accepted} calls answered after the recovery");

        var failedPhotos = Math.Max(final.Failed, Math.Max(maxFailedSeen, everFailed));
        var before = unavailableSince is { } u ? callsWhileDown.Count(t => t <= (u - downAt).TotalSeconds) : callsWhileDown.Count;
        var allowed = instances * (int)Math.Round(outage.TotalSeconds / breakSeconds) * 2;
        var rate = perMinute / 60.0;
        var budget = TimeSpan.FromSeconds(photos / rate + 10);
        var fromProbe = lastDone is { } done && probeAfter is { } p ? done - p : (TimeSpan?)null;
        string S(TimeSpan? t) => t is { } v ? $"{v.TotalSeconds:0.0} s" : "never";
        return
        [
            new($"outage: photos failed ({photos} photos, provider 500 for {outage.TotalSeconds:0} s, {instances} instances, MaxAttempts=4)",
                $"{final.Failed} failed at the end, {failedPhotos} ever; {final.Complete} complete, {final.Other} not done; {spentAttempts} attempts spent",
                "", $"{failedPhotos} failed", "0 failed", failedPhotos == 0 && final.Complete == photos),
            new($"outage: provider calls while down ({downFor.TotalSeconds:0} s, BreakSeconds={breakSeconds})",
                $"{callsWhileDown.Count} calls: {before} until marked unavailable at " +
                $"{(unavailableSince is { } us ? $"+{(us - downAt).TotalSeconds:0.0} s" : "never")}, {callsWhileDown.Count - before} after",
                $"{instances} instances × {outage.TotalSeconds:0} s / {breakSeconds} s × 2", $"{callsWhileDown.Count} calls", $"≤ {allowed}",
                callsWhileDown.Count <= allowed),
            new($"outage: recovery → last of {photos} photos complete (RequestsPerMinute={perMinute})",
                $"{S(lastDone)} from the recovery; first successful probe {S(probeAfter)} after it (≤ {breakSeconds} s by design)",
                $"{photos} / {perMinute} per min = {photos / rate:0} s", $"{S(fromProbe)} from the first successful probe",
                $"≤ {budget.TotalSeconds:0} s from the first successful probe", fromProbe is { } f && f <= budget && final.Complete == photos),
        ];
    }
}
