using System.Diagnostics;
using Microsoft.Playwright;
using static VehicleImages.Benchmarks.Support.Measures;
using static VehicleImages.Benchmarks.Support.Photos;
using static VehicleImages.Benchmarks.Support.Databases;

namespace VehicleImages.Benchmarks.Figures;

/// <summary>
/// The gallery's uploader in Chromium (issue 12: "memory stays flat for 500 files of 12 MB"): a batch
/// picked in the gallery, the page's JS heap (CDP Performance.getMetrics, JSHeapUsedSize after a
/// forced collection) and the renderers' RSS at points through the batch, against the page just opened.
/// </summary>
internal sealed class TusBrowserFigure : IFigure
{
    public string Name => "tus-browser";
    public string Description => "500 files of 12 MB picked in the gallery in Chromium (BENCH_TUS_BROWSER_FILES=N for fewer): JS heap flat (≤ 32 MiB growth), all stored; many minutes";
    public bool InAll => false;
    public Need Needs => Need.Chromium;

    public async Task<IReadOnlyList<Row>> RunAsync(FigureContext context) => await TusBrowserAsync(context.Admin, context.Work);

    public static async Task<List<Row>> TusBrowserAsync(string admin, string work)
    {
        const string chromium = "/usr/bin/chromium";
        if (!File.Exists(chromium))
            throw new InvalidOperationException($"tus-browser needs Debian's Chromium at {chromium} (apt-get install chromium).");
        var count = int.TryParse(Environment.GetEnvironmentVariable("BENCH_TUS_BROWSER_FILES"), out var n) && n > 0 ? n : 500;
        const int size = 12 * 1024 * 1024;

        // Files of 12 MB: a small real JPEG followed by bytes after its end marker (distinct per file), so
        // the server's ingest stays cheap and the figure is the browser's.
        var folder = Directory.CreateDirectory(Path.Combine(work, "tus-browser-files")).FullName;
        var photo = File.ReadAllBytes(MakeJpegs(Path.Combine(work, "tus-browser-base"), 1, 800, 600)[0]);
        var padding = new byte[size - photo.Length];
        Random.Shared.NextBytes(padding);
        var paths = new string[count];
        for (var i = 0; i < count; i++)
        {
            paths[i] = Path.Combine(folder, $"IMG_{i:0000}.jpg");
            await using var file = File.Create(paths[i]);
            await file.WriteAsync(photo);
            await file.WriteAsync(BitConverter.GetBytes(i));
            await file.WriteAsync(padding.AsMemory(4));
        }

        var cs = await Rig.DatabaseAsync(admin);
        var storage = Directory.CreateDirectory(Path.Combine(work, "storage-tus-browser")).FullName;
        await using var app = await Rig.StartAppAsync(cs, storage, new Dictionary<string, string>
        {
            ["Processing__Workers"] = "0", ["RateLimits__UploadsPerMinute"] = "0", ["RateLimits__UploadPatchesPerMinute"] = "0", ["RateLimits__AuthPerMinute"] = "0",
        });

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"],
        });
        await using var context = await browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = app.BaseAddress.ToString() });
        context.SetDefaultTimeout(60_000);
        var page = await context.NewPageAsync();
        var email = $"bench-browser-{Guid.NewGuid():N}@example.test";
        await page.GotoAsync("account/register");
        await page.Locator("#email").FillAsync(email);
        await page.Locator("#password").FillAsync("Passw0rd!");
        await page.Locator("#confirm").FillAsync("Passw0rd!");
        await page.Locator("#register").ClickAsync();
        await page.Locator("#new-vehicle").ClickAsync();
        await page.Locator("#vehicle-name").FillAsync("Browser benchmark car");
        await page.Locator("#create-vehicle").ClickAsync();
        await page.GetByRole(AriaRole.Link, new() { Name = "Open gallery (0)" }).ClickAsync();
        await page.Locator("[data-ready=true] #file-input").WaitForAsync(new() { State = WaitForSelectorState.Attached });

        var cdp = await context.NewCDPSessionAsync(page);
        await cdp.SendAsync("Performance.enable");
        var browserCdp = await browser.NewBrowserCDPSessionAsync();

        async Task<(long Heap, long Rss)> MeasureAsync()
        {
            await cdp.SendAsync("HeapProfiler.collectGarbage");
            var metrics = await cdp.SendAsync("Performance.getMetrics");
            var heap = metrics!.Value.GetProperty("metrics").EnumerateArray()
                .First(m => m.GetProperty("name").GetString() == "JSHeapUsedSize").GetProperty("value").GetDouble();
            return ((long)heap, await RendererRssAsync(browserCdp));
        }

        var baseline = await MeasureAsync();
        var points = new List<(string Label, long Heap, long Rss, double Seconds)>();
        var watch = Stopwatch.StartNew();
        await page.Locator("#file-input").SetInputFilesAsync(paths);
        // Picked: every file has its row (and its IndexedDB record, written before the row appears).
        // (Polled through selectors: the page's Content-Security-Policy forbids evaluating script strings.)
        while (await page.Locator("#upload-list .upload-row").CountAsync() < count)
            await Task.Delay(250);
        var picked = await MeasureAsync();
        points.Add(("after the pick", picked.Heap, picked.Rss, watch.Elapsed.TotalSeconds));

        var marks = new[] { 1, 100, 300, 500 }.Where(m => m <= count).Append(count).Distinct().ToList();
        long peakHeap = 0;
        foreach (var mark in marks)
        {
            while (true)
            {
                var finished = int.Parse(await page.Locator("#upload-summary").GetAttributeAsync("data-finished") ?? "0");
                var metrics = await cdp.SendAsync("Performance.getMetrics");
                peakHeap = Math.Max(peakHeap, (long)metrics!.Value.GetProperty("metrics").EnumerateArray()
                    .First(m => m.GetProperty("name").GetString() == "JSHeapUsedSize").GetProperty("value").GetDouble());
                if (finished >= mark)
                    break;
                if (watch.Elapsed > TimeSpan.FromHours(2))
                    throw new TimeoutException($"only {finished} of {count} files finished in two hours");
                await Task.Delay(1000);
            }

            var m = await MeasureAsync();
            // The first stored file: hashing and the pre-check have run for the first files.
            points.Add((mark == 1 ? "after the first file's hash, pre-check and upload" : $"{mark} stored", m.Heap, m.Rss, watch.Elapsed.TotalSeconds));
        }

        var stored = await ScalarAsync(cs, "SELECT count(*) FROM vehicle_images");
        Directory.Delete(folder, recursive: true);

        var rows = new List<Row>();
        foreach (var p in points)
            rows.Add(new($"browser: {count} × 12 MB picked in the gallery, {p.Label} ({p.Seconds:0} s)",
                $"JS heap {Mib(p.Heap)}, renderer RSS {Mib(p.Rss)}", $"page opened: heap {Mib(baseline.Heap)}, RSS {Mib(baseline.Rss)}",
                $"heap {Signed(p.Heap - baseline.Heap)}, RSS {Signed(p.Rss - baseline.Rss)}", "flat (heap growth ≤ 32 MiB)",
                p.Heap - baseline.Heap <= 32L * 1024 * 1024));
        rows.Add(new($"browser: {count} × 12 MB, highest JS heap seen (before collection)", Mib(peakHeap), $"page opened {Mib(baseline.Heap)}",
            $"{stored} photos stored", $"{count} stored", stored == count));
        return rows;
    }

    private static string Signed(long bytes) => (bytes >= 0 ? "+" : "−") + Mib(Math.Abs(bytes));

    /// <summary>The RSS of Chromium's renderer processes (the page's), from the browser's own process list and /proc.</summary>
    private static async Task<long> RendererRssAsync(ICDPSession browserCdp)
    {
        var info = await browserCdp.SendAsync("SystemInfo.getProcessInfo");
        long total = 0;
        foreach (var process in info!.Value.GetProperty("processInfo").EnumerateArray())
        {
            if (process.GetProperty("type").GetString() != "renderer")
                continue;
            var status = $"/proc/{process.GetProperty("id").GetInt32()}/status";
            if (!File.Exists(status))
                continue;
            var line = File.ReadLines(status).FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
            if (line is not null)
                total += long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        }

        return total;
    }
}
