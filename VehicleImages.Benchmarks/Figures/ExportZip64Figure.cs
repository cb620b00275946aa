using System.Diagnostics;
using System.IO.Compression;
using Microsoft.Extensions.Hosting.Internal;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using VehicleImages.Core.Configuration;
using VehicleImages.Core.Export;
using VehicleImages.Core.Images;
using VehicleImages.Core.Storage;

namespace VehicleImages.Benchmarks.Figures;

/// <summary>
/// An export past 4 GiB (zip64 offsets and end records) written by the export's own writer, from a real file store, to
/// a forward-only stream as to a response, then read back whole by Info-ZIP's <c>unzip -t</c> (every entry's CRC) and .NET's
/// reader. Too much disk and time for the test suite, which checks zip64 past 65,535 entries instead
/// (ExportZip64Tests). 66 incompressible 64 MiB entries (SOI, random bytes, EOI: what the 2048 size checks of a JPEG).
/// </summary>
internal sealed class ExportZip64Figure : IFigure
{
    public string Name => "export-zip64";
    public string Description => "an export zip past 4 GiB (66 × 64 MiB) from the export's writer: read back whole by unzip -t and .NET; target: both read every entry";
    public bool InAll => false;
    public Need Needs => Need.Zip;

    private const int Entries = 66;
    private const int EntryBytes = 64 * 1024 * 1024;

    public async Task<IReadOnlyList<Row>> RunAsync(FigureContext context)
    {
        var root = Directory.CreateDirectory(Path.Combine(context.Work, $"zip64-{Guid.NewGuid():N}"));
        try
        {
            var store = new FileSystemImageStore(Options.Create(new StorageOptions { Root = "store" }),
                new HostingEnvironment { ContentRootPath = root.FullName });
            var payload = new byte[EntryBytes];
            new Random(64).NextBytes(payload);
            (payload[0], payload[1], payload[^2], payload[^1]) = ((byte)0xFF, (byte)0xD8, (byte)0xFF, (byte)0xD9);
            var key = StorageKeys.Variant(new string('b', 64), "large");
            await store.PutBytesAsync(key, payload);
            var stored = new StoredObject(key, "image/jpeg", payload.Length, 4000, 3000);
            var variants = new VariantSet(stored, stored, stored, stored).ToJson();
            var photos = Enumerable.Range(1, Entries).Select(i => new ExportPhoto(i, Guid.NewGuid(), $"{i:D2}-exterior-front.jpg",
                $"IMG_{i}.jpg", "exterior", "front", 8, null, 4000, 3000, 1, variants)).ToList();
            var exports = new ExportService(null!, null!, store, NullLogger<ExportService>.Instance);

            var path = Path.Combine(root.FullName, "export.zip");
            var write = Stopwatch.StartNew();
            await using (var file = File.Create(path))
                await exports.WriteAsync(new ExportPlan("Big", "all", photos), "2048", file, CancellationToken.None);
            write.Stop();
            var bytes = new FileInfo(path).Length;

            var test = Stopwatch.StartNew();
            using var unzip = Process.Start(new ProcessStartInfo("unzip", ["-tqq", path]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
            var said = await unzip.StandardOutput.ReadToEndAsync() + await unzip.StandardError.ReadToEndAsync();
            await unzip.WaitForExitAsync();
            test.Stop();

            var dotnet = Stopwatch.StartNew();
            var read = 0;
            using (var zip = ZipFile.OpenRead(path))
            {
                var buffer = new byte[1024 * 1024];
                foreach (var entry in zip.Entries)
                {
                    await using var s = entry.Open();
                    while (await s.ReadAsync(buffer) > 0) { }
                    read++;
                }
            }
            dotnet.Stop();

            var gib = bytes / (1024.0 * 1024 * 1024);
            var ok = unzip.ExitCode == 0 && read == Entries + 1 && bytes > 4L * 1024 * 1024 * 1024;
            return
            [
                new($"export-zip64: {Entries} × 64 MiB, {gib:0.00} GiB written in {write.Elapsed.TotalSeconds:0.0} s ({bytes / write.Elapsed.TotalSeconds / 1e6:0} MB/s)",
                    $"unzip -t {(unzip.ExitCode == 0 ? "ok" : $"exit {unzip.ExitCode}: {said.Trim()}")} in {test.Elapsed.TotalSeconds:0.0} s",
                    $".NET read {read} entries in {dotnet.Elapsed.TotalSeconds:0.0} s",
                    ok ? "both read it whole" : "NOT READ", "unzip -t and .NET read every entry", ok),
            ];
        }
        finally
        {
            root.Delete(recursive: true);
        }
    }
}
