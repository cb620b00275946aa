using System.Diagnostics;
using System.IO.Compression;
using Microsoft.Extensions.Hosting.Internal;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using VehicleImages.Core.Configuration;
using VehicleImages.Core.Export;
using VehicleImages.Core.Images;
using VehicleImages.Core.Storage;

namespace VehicleImages.Tests.Listings;

/// <summary>
/// An export past the classic zip's limits is a zip64 that standard readers open (GUIDE: Immich's album download
/// broke past 2.9 GB). Past 65,535 entries is the cheap way to make the writer switch to zip64's end records: 65,600
/// tiny JPEGs from a real file store, written by the export's own writer to a forward-only stream, as to a response.
/// The other limit, past 4 GiB of offsets, is measured outside the suite (docs/performance.md).
/// </summary>
public sealed class ExportZip64Tests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Export_OfMoreThan65535Entries_IsAZip64_DotNetAndInfoZipReadEveryEntry()
    {
        var root = Directory.CreateTempSubdirectory("export-zip64-");
        try
        {
            var store = new FileSystemImageStore(Options.Create(new StorageOptions { Root = "store" }),
                new HostingEnvironment { ContentRootPath = root.FullName });
            byte[] jpeg;
            using (var tiny = NetVips.Image.Black(8, 8))
                jpeg = tiny.JpegsaveBuffer(q: 50, keep: NetVips.Enums.ForeignKeep.None);
            var key = StorageKeys.Variant(new string('a', 64), "large");
            await store.PutBytesAsync(key, jpeg, Ct);
            var stored = new StoredObject(key, "image/jpeg", jpeg.Length, 8, 8);
            var variants = new VariantSet(stored, stored, stored, stored).ToJson();

            const int count = 65_600;
            var photos = Enumerable.Range(1, count).Select(i => new ExportPhoto(i, Guid.NewGuid(), $"{i:D5}-exterior-front.jpg",
                $"IMG_{i}.jpg", "exterior", "front", 8, null, 8, 8, 1, variants)).ToList();
            var exports = new ExportService(null!, null!, store, NullLogger<ExportService>.Instance);
            var path = Path.Combine(root.FullName, "export.zip");
            await using (var file = File.Create(path))
                await exports.WriteAsync(new ExportPlan("Big", "all", photos), "2048", file, Ct);

            // The writer switched to zip64: its end of central directory record (PK\x06\x06) and locator (PK\x06\x07).
            var tail = new byte[200];
            await using (var read = File.OpenRead(path))
            {
                read.Seek(-tail.Length, SeekOrigin.End);
                await read.ReadExactlyAsync(tail, Ct);
            }
            Assert.True(tail.AsSpan().IndexOf("PK\x06\x06"u8) >= 0, "no zip64 end of central directory record");
            Assert.True(tail.AsSpan().IndexOf("PK\x06\x07"u8) >= 0, "no zip64 end of central directory locator");

            // .NET's reader: every entry, in order, with the photo's bytes; the CSV's last row.
            using (var zip = ZipFile.OpenRead(path))
            {
                Assert.Equal(count + 1, zip.Entries.Count);
                Assert.Equal("00001-exterior-front.jpg", zip.Entries[0].FullName);
                Assert.Equal($"{count}-exterior-front.jpg", zip.Entries[count - 1].FullName);
                foreach (var entry in zip.Entries.Take(count))
                {
                    await using var stream = await entry.OpenAsync(Ct);
                    using var copy = new MemoryStream();
                    await stream.CopyToAsync(copy, Ct);
                    if (!copy.GetBuffer().AsSpan(0, (int)copy.Length).SequenceEqual(jpeg))
                        Assert.Fail($"{entry.FullName} is not the stored photo");
                }
                var csv = ExportTests.Csv(zip);
                Assert.Equal(count + 1, csv.Count);
                Assert.Equal([$"{count}", $"{count}-exterior-front.jpg", $"IMG_{count}.jpg"], csv[^1][..3]);
            }

            // Info-ZIP's unzip, another implementation, tests every entry's CRC.
            using var unzip = Process.Start(new ProcessStartInfo("unzip", ["-tqq", path]) { RedirectStandardOutput = true, RedirectStandardError = true })
                ?? throw new InvalidOperationException("unzip did not start (./test.sh installs Debian's unzip)");
            var output = await unzip.StandardOutput.ReadToEndAsync(Ct) + await unzip.StandardError.ReadToEndAsync(Ct);
            await unzip.WaitForExitAsync(Ct);
            Assert.True(unzip.ExitCode == 0, $"unzip -t exited {unzip.ExitCode}: {output}");
        }
        finally
        {
            root.Delete(recursive: true);
        }
    }
}
