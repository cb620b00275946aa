using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Playwright;
using VehicleImages.Tests.TestHost;
using static Microsoft.Playwright.Assertions;

namespace VehicleImages.Tests.EndToEnd;

/// <summary>
/// The gallery's uploader in Chromium through outages no one clicks through: 20 photos, every request to the app
/// failing for 30 s while <c>navigator.onLine</c> stays true, or the browser offline for 8 s. Every photo is stored
/// exactly once and none is ever shown failed. The 60 s offline spell and the server restart have classes of their
/// own, so they run beside the others.
/// </summary>
public sealed class UploadOutageFlowTests(AppFixture app, BrowserFixture browser)
    : IClassFixture<AppFixture>, IClassFixture<BrowserFixture>
{
    [Fact]
    public Task Browser_EveryRequestAbortedFor30sMidBatch_All20StoredOnceNoneShownFailed() =>
        browser.RunAsync(app.App.BaseAddress, "outage-aborted", async page =>
        {
            var watch = await UploadWatch.StartAsync(page);
            var vehicle = await UploadWatch.OpenNewGalleryAsync(page, "aborted");
            var outage = new Outage();
            await outage.RouteAsync(page);

            await page.Locator("#file-input").SetInputFilesAsync(UploadWatch.Photos(20));
            watch.Picked();
            await Expect(page.Locator(".upload-row[data-outcome=created]").First).ToBeAttachedAsync(new() { Timeout = 30_000 });
            outage.Begin();
            Assert.True(await UploadWatch.DoneAsync(page) < 20, "the batch finished before the outage began");
            // Requests fail, but the browser still says it is online: the uploader must not wait for it to say otherwise.
            await Expect(page.Locator(".upload-row[data-state=retrying]").First).ToBeAttachedAsync(new() { Timeout = 30_000 });
            Assert.True(await page.EvaluateAsync<bool>("navigator.onLine"));
            await Expect(page.Locator(".upload-row[data-state=retrying]").First).ToContainTextAsync("waiting for the connection");
            await page.WaitForTimeoutAsync(30_000);
            Assert.True(await UploadWatch.DoneAsync(page) < 20, "the batch finished during the outage");
            var back = outage.End();

            await watch.AllStoredAsync(page, app.App.ConnectionString, vehicle, 20);
            Assert.True(outage.Aborted > 0, "no request was aborted");
            TestContext.Current.TestOutputHelper?.WriteLine($"aborted {outage.Aborted} requests; all 20 stored {back.Elapsed.TotalSeconds:0.0} s after the outage");
        });

    [Fact]
    public Task Browser_OfflineFor8sMidBatch_All20StoredOnceNoneShownFailed() =>
        UploadWatch.OfflineMidBatchAsync(browser, app.App, "offline-8s", TimeSpan.FromSeconds(8));
}

/// <summary>The offline spell of a minute: longer than any single wait of the uploader's (its own class: it takes over a minute).</summary>
public sealed class UploadLongOfflineFlowTests(AppFixture app, BrowserFixture browser)
    : IClassFixture<AppFixture>, IClassFixture<BrowserFixture>
{
    [Fact]
    public Task Browser_OfflineFor60sMidBatch_All20StoredOnceNoneShownFailed() =>
        UploadWatch.OfflineMidBatchAsync(browser, app.App, "offline-60s", TimeSpan.FromSeconds(60));
}

/// <summary>The app stopped mid-batch (SIGKILL) and started again 20 s later on the same database, files and port.</summary>
public sealed class UploadServerRestartFlowTests(BrowserFixture browser) : IClassFixture<BrowserFixture>
{
    [Fact]
    public async Task Browser_ServerRestartedMidBatch_All20StoredOnceNoneShownFailed()
    {
        var cs = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        var storage = Directory.CreateTempSubdirectory("vi-e2e-restart-").FullName;
        var settings = new Dictionary<string, string?> { ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{FreePort()}" };
        var app = await AppProcess.StartAsync(cs, storage, settings);
        try
        {
            await browser.RunAsync(app.BaseAddress, "outage-restart", async page =>
            {
                var watch = await UploadWatch.StartAsync(page);
                var vehicle = await UploadWatch.OpenNewGalleryAsync(page, "restart");
                await UploadWatch.ThrottleUploadsAsync(page);

                await page.Locator("#file-input").SetInputFilesAsync(UploadWatch.Photos(20));
            watch.Picked();
                await Expect(page.Locator(".upload-row[data-outcome=created]").First).ToBeAttachedAsync(new() { Timeout = 30_000 });
                await app.KillAsync();
                Assert.True(await UploadWatch.DoneAsync(page) < 20, "the batch finished before the app stopped");
                await page.WaitForTimeoutAsync(20_000);
                await app.DisposeAsync();
                app = await AppProcess.StartAsync(cs, storage, settings);
                var back = Stopwatch.StartNew();

                await watch.ReloadedAsync(page);
                await watch.AllStoredAsync(page, cs, vehicle, 20);
                TestContext.Current.TestOutputHelper?.WriteLine($"all 20 stored {back.Elapsed.TotalSeconds:0.0} s after the restart");
            });
        }
        finally
        {
            await app.DisposeAsync();
            try { Directory.Delete(storage, recursive: true); }
            catch (IOException) { /* a leftover temp folder does no harm */ }
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>Every request to the app, while on, fails as a dropped connection does (<c>route.abort</c>); uploads go out a little slower always.</summary>
internal sealed class Outage
{
    private volatile bool _on;
    private int _aborted;

    public int Aborted => Volatile.Read(ref _aborted);

    public void Begin() => _on = true;

    /// <summary>Ends the outage; the stopwatch runs from that moment.</summary>
    public Stopwatch End()
    {
        _on = false;
        return Stopwatch.StartNew();
    }

    public Task RouteAsync(IPage page) =>
        page.RouteAsync("**/*", async route =>
        {
            try
            {
                if (!_on && route.Request.Url.Contains("/api/uploads", StringComparison.Ordinal))
                    await Task.Delay(UploadWatch.UploadDelayMs);
                if (_on)
                {
                    Interlocked.Increment(ref _aborted);
                    await route.AbortAsync();
                }
                else
                {
                    await route.ContinueAsync();
                }
            }
            catch (PlaywrightException)
            {
                // The page went away while the request waited.
            }
        });
}

/// <summary>
/// What the person would have seen: every upload row's state over the whole test, from before the page loads
/// (an init script with a MutationObserver, so a reload does not lose the watch), and the stored photos.
/// </summary>
internal sealed class UploadWatch
{
    public const int UploadDelayMs = 250;

    private readonly Lock _gate = new();
    private readonly List<string> _failed = [];
    private readonly HashSet<string> _states = [];
    private int _loads;
    private int _loadsAtPick;

    /// <summary>Call once the files are picked: a page load after this one (a reload) is told apart in <see cref="AllStoredAsync"/>.</summary>
    public void Picked() => _loadsAtPick = Volatile.Read(ref _loads);

    private bool Reloaded => Volatile.Read(ref _loads) > _loadsAtPick;

    /// <summary>Blazor reloads the page once it finds its circuit gone (the server restarted): waits for that load.</summary>
    public async Task ReloadedAsync(IPage page)
    {
        await page.WaitForFunctionAsync("() => true"); // a round trip, so navigations already begun are counted
        for (var waited = Stopwatch.StartNew(); !Reloaded; await Task.Delay(100))
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(90), "the page did not reload after the server restarted");
    }

    public static async Task<UploadWatch> StartAsync(IPage page)
    {
        var watch = new UploadWatch();
        page.FrameNavigated += (_, frame) =>
        {
            if (frame == page.MainFrame)
                Interlocked.Increment(ref watch._loads);
        };
        // "kind:text", kind being "state" (a state some row was in) or "failed" (a row shown failed or rejected).
        await page.Context.ExposeFunctionAsync<string>("uploadWatch", told =>
        {
            var (kind, text) = (told[..told.IndexOf(':', StringComparison.Ordinal)], told[(told.IndexOf(':', StringComparison.Ordinal) + 1)..]);
            lock (watch._gate)
            {
                if (kind == "failed")
                    watch._failed.Add(text);
                else
                    watch._states.Add(text);
            }
        });
        await page.Context.AddInitScriptAsync("""
            (() => {
              const told = new Set();
              const tell = (kind, text) => {
                if (told.has(kind + text)) return;
                told.add(kind + text);
                window.uploadWatch(`${kind}:${text}`);
              };
              const look = () => {
                for (const row of document.querySelectorAll('.upload-row')) {
                  const state = row.dataset.state ?? '';
                  const text = row.querySelector('.upload-outcome')?.textContent ?? '';
                  tell('state', state);
                  if (state === 'failed' || row.dataset.outcome === 'rejected' || /^(failed|rejected)/.test(text))
                    tell('failed', `${row.querySelector('.upload-name')?.textContent}: ${state}: ${text}`);
                }
              };
              new MutationObserver(look).observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
            })();
            """);
        return watch;
    }

    /// <summary>
    /// Registers through the page, creates the vehicle with the page's own session (the API call the dialog makes;
    /// the dialog itself is tested elsewhere) and opens its gallery with the uploader wired.
    /// </summary>
    public static async Task<string> OpenNewGalleryAsync(IPage page, string tag)
    {
        var vehicle = $"Outage {tag} {Guid.NewGuid():N}";
        await BrowserSteps.RegisterAsync(page, $"outage-{tag}-{Guid.NewGuid():N}@example.test");
        await Expect(page.Locator("#new-vehicle")).ToBeVisibleAsync();
        var id = await page.EvaluateAsync<string>("""
            async name => {
              const token = await (await fetch('api/antiforgery/token', { cache: 'no-store' })).json();
              const created = await fetch('api/vehicles', {
                method: 'POST',
                headers: { 'Content-Type': 'application/json', [token.headerName]: token.requestToken },
                body: JSON.stringify({ name }),
              });
              if (!created.ok) throw new Error(`creating the vehicle answered ${created.status}`);
              return (await created.json()).id;
            }
            """, vehicle);
        await page.GotoAsync($"vehicles/{id}");
        await Expect(page.Locator("[data-ready=true] #file-input")).ToBeAttachedAsync();
        return vehicle;
    }

    /// <summary>Every upload request waits a little before it goes out, so a batch of 20 takes seconds, not milliseconds.</summary>
    public static Task ThrottleUploadsAsync(IPage page) =>
        page.RouteAsync("**/api/uploads**", async route =>
        {
            await Task.Delay(UploadDelayMs);
            try
            {
                await route.ContinueAsync();
            }
            catch (PlaywrightException)
            {
                // The page was reloaded or went offline while the request waited.
            }
        });

    /// <summary>Distinct small photos (bytes after the JPEG's end marker change the hash, not the picture), as files to pick.</summary>
    public static string[] Photos(int count)
    {
        var folder = Directory.CreateTempSubdirectory("vi-e2e-outage-").FullName;
        var photo = File.ReadAllBytes(TestData.Image("exif-samples__DSCN0010.jpg"));
        var salt = Random.Shared.NextInt64();
        return Enumerable.Range(0, count).Select(i =>
        {
            var path = Path.Combine(folder, $"IMG_{i:0000}.jpg");
            File.WriteAllBytes(path, [.. photo, .. BitConverter.GetBytes(salt), .. BitConverter.GetBytes(i)]);
            return path;
        }).ToArray();
    }

    public static Task<int> DoneAsync(IPage page) => page.Locator(".upload-row[data-state=done]").CountAsync();

    public static Task OfflineMidBatchAsync(BrowserFixture browser, TestApp app, string name, TimeSpan offline) =>
        browser.RunAsync(app.BaseAddress, name, async page =>
        {
            var watch = await StartAsync(page);
            var vehicle = await OpenNewGalleryAsync(page, name);
            await ThrottleUploadsAsync(page);

            await page.Locator("#file-input").SetInputFilesAsync(Photos(20));
            watch.Picked();
            await Expect(page.Locator(".upload-row[data-outcome=created]").First).ToBeAttachedAsync(new() { Timeout = 30_000 });
            await page.Context.SetOfflineAsync(true);
            Assert.True(await DoneAsync(page) < 20, "the batch finished before the connection went away");
            await Expect(page.Locator(".upload-row[data-state=offline]").First).ToBeAttachedAsync();
            await Expect(page.Locator("#upload-summary")).ToContainTextAsync("offline");
            await page.WaitForTimeoutAsync((float)offline.TotalMilliseconds);
            Assert.True(await DoneAsync(page) < 20, "the batch finished offline");
            await page.Context.SetOfflineAsync(false);
            var back = Stopwatch.StartNew();

            await watch.AllStoredAsync(page, app.ConnectionString, vehicle, 20);
            TestContext.Current.TestOutputHelper?.WriteLine($"{name}: all 20 stored {back.Elapsed.TotalSeconds:0.0} s after the connection came back");
        });

    /// <summary>
    /// Every photo stored exactly once, every row on the page done as uploaded (or, after a reload, as found already
    /// there), the overall line at "N of N", a card per photo with no broken thumbnail, and no row ever shown failed.
    /// A reload (Blazor reloads the page when its circuit is gone, as after a server restart) brings back the files not yet
    /// stored from the browser's storage and the batch's finished rows from the tab's, so the page still shows all <paramref name="count"/>.
    /// </summary>
    public async Task AllStoredAsync(IPage page, string connectionString, string vehicle, int count)
    {
        var rows = page.Locator(".upload-row");
        // The uploader has taken back what the browser kept (after a reload, the files not yet stored).
        await Expect(page.Locator("[data-restored=true] #upload-list")).ToBeAttachedAsync(new() { Timeout = 120_000 });
        await Expect(page.Locator(".upload-row:not([data-state=done])")).ToHaveCountAsync(0, new() { Timeout = 120_000 });
        // After a reload too: the batch's finished rows come back from the tab's storage beside the kept files.
        var shown = await rows.CountAsync();
        Assert.Equal(count, shown);
        Assert.Equal(shown, await page.Locator(".upload-row[data-outcome=created]").CountAsync()
                            + await page.Locator(".upload-row[data-outcome=duplicate]").CountAsync());
        await Expect(page.Locator("#upload-summary")).ToContainTextAsync($"{count} of {count}");
        TestContext.Current.TestOutputHelper?.WriteLine(Reloaded ? $"the page reloaded; {shown} rows came back" : "no reload");

        Assert.Equal(count, await ImageRows.ScalarAsync<long>(connectionString,
            "SELECT count(*) FROM vehicle_images i JOIN vehicles v ON v.id = i.vehicle_id WHERE v.name = @n", ("n", vehicle)));
        Assert.Equal(count, await ImageRows.ScalarAsync<long>(connectionString,
            "SELECT count(DISTINCT i.sha256) FROM vehicle_images i JOIN vehicles v ON v.id = i.vehicle_id WHERE v.name = @n", ("n", vehicle)));

        // Thumbnails that failed to load while the connection was gone load again.
        await Expect(page.Locator(".photo-card")).ToHaveCountAsync(count, new() { Timeout = 30_000 });
        await page.WaitForFunctionAsync(
            "() => ![...document.querySelectorAll('.photo-card img')].some(i => i.complete && i.naturalWidth === 0)",
            null, new() { Timeout = 30_000 });

        lock (_gate)
        {
            Assert.True(_failed.Count == 0, "shown failed: " + string.Join("; ", _failed));
            TestContext.Current.TestOutputHelper?.WriteLine("upload row states seen: " + string.Join(", ", _states.Order()));
        }
    }
}

/// <summary>
/// Answers that are not the file's end, and the uploader's roles. A 5xx on every chunk is tried 10 times more,
/// then the file fails with the server's reason and a Retry button, which sends it once the server takes chunks
/// again (Playwright's clock runs the uploader's 80 s or so of backoff in a moment); a 429 waits out Retry-After.
/// </summary>
public sealed class UploadServerErrorFlowTests(AppFixture app, BrowserFixture browser)
    : IClassFixture<AppFixture>, IClassFixture<BrowserFixture>
{
    [Fact]
    public Task Browser_ChunkAnswered503Always_FailsAfter10RetriesWithTheReason_RetrySendsIt() =>
        browser.RunAsync(app.App.BaseAddress, "upload-5xx", async page =>
        {
            await page.Clock.InstallAsync();
            var vehicle = await UploadWatch.OpenNewGalleryAsync(page, "5xx");
            var failing = true;
            var patches = 0;
            await page.RouteAsync("**/api/uploads/**", async route =>
            {
                if (route.Request.Method != "PATCH" || !Volatile.Read(ref failing))
                {
                    await route.ContinueAsync();
                    return;
                }
                Interlocked.Increment(ref patches);
                await route.FulfillAsync(new()
                {
                    Status = 503,
                    ContentType = "application/problem+json",
                    Body = """{"status":503,"detail":"The chunk was not kept: the disk is full. Try again shortly."}""",
                });
            });

            await page.Locator("#file-input").SetInputFilesAsync(UploadWatch.Photos(1));
            var row = page.Locator(".upload-row");
            await Expect(row).ToContainTextAsync("the disk is full");
            for (var i = 0; i < 30 && await row.GetAttributeAsync("data-state") != "failed"; i++)
                await page.Clock.RunForAsync(10_000);

            await Expect(row).ToHaveAttributeAsync("data-state", "failed");
            await Expect(row.Locator(".upload-outcome")).ToHaveTextAsync("failed: The chunk was not kept: the disk is full. Try again shortly.");
            Assert.Equal(11, Volatile.Read(ref patches));
            var retry = page.GetByRole(AriaRole.Button, new() { Name = "Retry IMG_0000.jpg" });
            await Expect(retry).ToBeVisibleAsync();

            Volatile.Write(ref failing, false);
            await retry.ClickAsync();
            await Expect(row).ToHaveAttributeAsync("data-outcome", "created");
            Assert.Equal(1, await ImageRows.ScalarAsync<long>(app.App.ConnectionString,
                "SELECT count(*) FROM vehicle_images i JOIN vehicles v ON v.id = i.vehicle_id WHERE v.name = @n", ("n", vehicle)));
        });

    [Fact]
    public Task Browser_ChunkAnswered423Always_ResumesFromHeadEachTime_FailsAfter10WithTheReason_RetrySendsIt() =>
        browser.RunAsync(app.App.BaseAddress, "upload-423", async page =>
        {
            await page.Clock.InstallAsync();
            var vehicle = await UploadWatch.OpenNewGalleryAsync(page, "423");
            var failing = true;
            var (patches, heads) = (0, 0);
            await page.RouteAsync("**/api/uploads/**", async route =>
            {
                if (route.Request.Method == "HEAD" && Volatile.Read(ref failing))
                    Interlocked.Increment(ref heads);
                if (route.Request.Method != "PATCH" || !Volatile.Read(ref failing))
                {
                    await route.ContinueAsync();
                    return;
                }
                Interlocked.Increment(ref patches);
                await route.FulfillAsync(new()
                {
                    Status = 423,
                    ContentType = "application/problem+json",
                    Body = """{"status":423,"detail":"Another request is writing to this upload."}""",
                });
            });

            await page.Locator("#file-input").SetInputFilesAsync(UploadWatch.Photos(1));
            var row = page.Locator(".upload-row");
            await Expect(row).ToContainTextAsync("resuming from where the server stands");
            for (var i = 0; i < 30 && await row.GetAttributeAsync("data-state") != "failed"; i++)
                await page.Clock.RunForAsync(10_000);

            await Expect(row).ToHaveAttributeAsync("data-state", "failed");
            await Expect(row.Locator(".upload-outcome")).ToHaveTextAsync("failed: Another request is writing to this upload.");
            Assert.Equal(11, Volatile.Read(ref patches));
            Assert.True(Volatile.Read(ref heads) >= 10, $"each go after a 423 asks where the server stands (HEAD): {heads}");
            var retry = page.GetByRole(AriaRole.Button, new() { Name = "Retry IMG_0000.jpg" });
            Volatile.Write(ref failing, false);
            await retry.ClickAsync();
            await Expect(row).ToHaveAttributeAsync("data-outcome", "created");
            Assert.Equal(1, await ImageRows.ScalarAsync<long>(app.App.ConnectionString,
                "SELECT count(*) FROM vehicle_images i JOIN vehicles v ON v.id = i.vehicle_id WHERE v.name = @n", ("n", vehicle)));
        });

    [Fact]
    public Task Browser_Keyboard_DropZoneOpensThePicker_ProgressAndButtonsNamed_OneAnnouncementPerBatch() =>
        browser.RunAsync(app.App.BaseAddress, "upload-keyboard", async page =>
        {
            await UploadWatch.OpenNewGalleryAsync(page, "keyboard");
            var zone = page.GetByRole(AriaRole.Button, new() { Name = "Drop photos here, or Choose files" });
            var chooser = await BrowserSteps.ChooseFilesWithEnterAsync(page, () => zone.FocusAsync());
            var announcements = new List<string>();
            await page.ExposeFunctionAsync<string>("announced", text =>
            {
                lock (announcements)
                    announcements.Add(text);
            });
            await page.EvaluateAsync("""
                () => new MutationObserver(() => {
                  const text = document.querySelector('#upload-announcement').textContent;
                  if (text) window.announced(text);
                }).observe(document.querySelector('#upload-announcement'), { childList: true, characterData: true, subtree: true })
                """);
            await chooser.SetFilesAsync(UploadWatch.Photos(3));

            await Expect(page.Locator(".upload-row[data-outcome=created]")).ToHaveCountAsync(3, new() { Timeout = 30_000 });
            var bar = page.GetByRole(AriaRole.Progressbar, new() { Name = "IMG_0001.jpg uploaded" });
            await Expect(bar).ToHaveAttributeAsync("aria-valuenow", "100");
            await Expect(bar).ToHaveAttributeAsync("aria-valuemin", "0");
            await Expect(bar).ToHaveAttributeAsync("aria-valuemax", "100");
            await Expect(page.Locator("#upload-announcement")).ToHaveAttributeAsync("aria-live", "polite");
            await Expect(page.Locator("#upload-announcement")).ToHaveTextAsync("Uploads done: 3 uploaded");
            lock (announcements)
                Assert.Equal(["Uploading 3 photos", "Uploads done: 3 uploaded"], announcements);
        });

    [Fact]
    public Task Browser_CreationAnswered429_WaitsOutRetryAfter_ThenStoredWithNoClick() =>
        browser.RunAsync(app.App.BaseAddress, "upload-429", async page =>
        {
            var watch = await UploadWatch.StartAsync(page);
            var vehicle = await UploadWatch.OpenNewGalleryAsync(page, "429");
            var creations = new List<DateTime>();
            await page.RouteAsync("**/api/uploads", async route =>
            {
                if (route.Request.Method != "POST")
                {
                    await route.ContinueAsync();
                    return;
                }
                bool first;
                lock (creations)
                {
                    creations.Add(DateTime.UtcNow);
                    first = creations.Count == 1;
                }
                if (first)
                    await route.FulfillAsync(new()
                    {
                        Status = 429,
                        Headers = new Dictionary<string, string> { ["Retry-After"] = "3" },
                        ContentType = "application/problem+json",
                        Body = """{"status":429,"detail":"Too many uploads this minute."}""",
                    });
                else
                    await route.ContinueAsync();
            });

            await page.Locator("#file-input").SetInputFilesAsync(UploadWatch.Photos(1));
            watch.Picked();
            await Expect(page.Locator(".upload-row")).ToContainTextAsync("the server asks to wait");
            await watch.AllStoredAsync(page, app.App.ConnectionString, vehicle, 1);
            lock (creations)
            {
                Assert.Equal(2, creations.Count);
                // A timer cannot fire early: the second creation went out no sooner than Retry-After said.
                Assert.True(creations[1] - creations[0] >= TimeSpan.FromSeconds(2.9), $"sent again after {creations[1] - creations[0]}");
            }
        });
}
