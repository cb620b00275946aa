using System.Buffers.Binary;
using System.IO.Compression;
using NetVips;
using static VehicleImages.Benchmarks.Support.Measures;

namespace VehicleImages.Benchmarks.Figures;

/// <summary>
/// Peak RSS of the app (a process of its own, VmHWM) receiving 150-megapixel files that decode to far more
/// than their size: refused by the decode estimate, or decoded one at a time (docs/decisions/012-ingest-limits.md).
/// The reference is the same app's peak after start-up and sign-in, before any upload.
/// </summary>
internal sealed class DecodeFigure : IFigure
{
    public string Name => "decode";
    public string Description => "peak RSS of the app receiving 150 MP files that decode to far more than their size (interlaced 16-bit PNG, progressive JPEGs, together): < 1 GiB each";
    public bool InAll => true;
    public Need Needs => Need.None;

    public async Task<IReadOnlyList<Row>> RunAsync(FigureContext context) => await DecodeAsync(context.Admin, context.Work);

    private const long OneGiB = 1024L * 1024 * 1024;

    public static async Task<List<Row>> DecodeAsync(string admin, string work)
    {
        var png = Path.Combine(work, "interlaced16-150mp.png");
        WriteInterlacedPng16(png, 15000, 10000);
        var jpeg = Path.Combine(work, "progressive-150mp.jpg");
        using (var black = Image.Black(15000, 10000, bands: 3))
        using (var grey = black.Linear(new double[] { 1 }, new double[] { 96 }).Cast(Enums.BandFormat.Uchar))
        using (var srgb = grey.Copy(interpretation: Enums.Interpretation.Srgb))
            srgb.Jpegsave(jpeg, q: 75, interlace: true);
        var pngBytes = await File.ReadAllBytesAsync(png);
        var jpegBytes = await File.ReadAllBytesAsync(jpeg);

        var rows = new List<Row>();
        (string Figure, (string Name, byte[] Bytes)[] Files)[] cases =
        [
            ($"decode: 150 MP interlaced 16-bit PNG ({pngBytes.Length / 1024} KiB, 859 MiB decoded)", [("a.png", pngBytes)]),
            ($"decode: 150 MP progressive JPEG ({jpegBytes.Length / 1024} KiB)", [("a.jpg", jpegBytes)]),
            ("decode: two 150 MP progressive JPEGs and the PNG at once", [("a.jpg", jpegBytes), ("b.jpg", [.. jpegBytes, 1]), ("a.png", pngBytes)]),
        ];
        foreach (var (figure, files) in cases)
        {
            var cs = await Rig.DatabaseAsync(admin);
            var storage = Directory.CreateDirectory(Path.Combine(work, $"storage-decode-{Guid.NewGuid():N}")).FullName;
            await using var app = await Rig.StartAppAsync(cs, storage, new Dictionary<string, string> { ["Processing__Workers"] = "0" });
            var (client, _) = await Rig.UserAsync(app.BaseAddress, $"decode-{Guid.NewGuid():N}@example.test");
            var vehicle = await Rig.VehicleAsync(client);
            var idle = app.PeakRssBytes();
            var results = await Task.WhenAll(files.Select(f => Rig.UploadAsync(client, vehicle, f.Name, f.Bytes)));
            var peak = app.PeakRssBytes();
            var outcomes = string.Join(", ", results.Select(r => r.GetProperty("outcome").GetString()));
            rows.Add(new($"{figure}: {outcomes}", Mib(peak), $"idle app {Mib(idle)}", $"{(double)peak / idle:0.0}× idle", "< 1024 MiB", peak < OneGiB));
        }

        return rows;
    }

    /// <summary>An Adam7-interlaced 16-bit RGB PNG of black pixels, written row by row (as the tests' GeneratedImages does).</summary>
    private static void WriteInterlacedPng16(string path, int width, int height)
    {
        using var file = File.Create(path);
        file.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        (ihdr[8], ihdr[9], ihdr[12]) = (16, 2, 1);
        Chunk(file, "IHDR", ihdr);
        using var idat = new MemoryStream();
        using (var z = new ZLibStream(idat, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            var row = new byte[1 + width * 6];
            foreach (var (x0, y0, dx, dy) in new[] { (0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2) })
            {
                var cols = width > x0 ? (width - x0 + dx - 1) / dx : 0;
                var passRows = height > y0 ? (height - y0 + dy - 1) / dy : 0;
                for (var r = 0; cols > 0 && r < passRows; r++)
                    z.Write(row, 0, 1 + cols * 6);
            }
        }

        Chunk(file, "IDAT", idat.ToArray());
        Chunk(file, "IEND", []);

        static void Chunk(Stream s, string type, ReadOnlySpan<byte> data)
        {
            Span<byte> word = stackalloc byte[4];
            BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
            s.Write(word);
            var t = System.Text.Encoding.ASCII.GetBytes(type);
            s.Write(t);
            s.Write(data);
            var crc = new System.IO.Hashing.Crc32();
            crc.Append(t);
            crc.Append(data);
            BinaryPrimitives.WriteUInt32BigEndian(word, crc.GetCurrentHashAsUInt32());
            s.Write(word);
        }
    }
}
