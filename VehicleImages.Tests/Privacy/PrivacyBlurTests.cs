using System.Diagnostics;
using NetVips;
using VehicleImages.Core.Privacy;
using Image = NetVips.Image;

namespace VehicleImages.Tests.Privacy;

/// <summary>
/// The blur cannot be read back: Debian's tesseract reads the plate (3 or more of its characters in order) from the
/// original crop of several real plates, and from the same crop of the blurred photo reads no run of 3 of them.
/// </summary>
public sealed class PrivacyBlurTests(ITestOutputHelper output)
{
    /// <summary>What tesseract reads in a region of a JPEG: cropped with a margin, enlarged 3×, one line, capitals and digits.</summary>
    internal static string Read(byte[] jpeg, PlatePhoto photo)
    {
        using var image = Image.NewFromBuffer(jpeg);
        var margin = photo.Height / 2;
        var left = Math.Max(0, photo.Left - margin);
        var top = Math.Max(0, photo.Top - margin);
        using var crop = image.Crop(left, top, Math.Min(image.Width - left, photo.Width + 2 * margin), Math.Min(image.Height - top, photo.Height + 2 * margin));
        using var grey = crop.Colourspace(Enums.Interpretation.Bw);
        using var big = grey.Resize(3, kernel: Enums.Kernel.Cubic);
        var path = Path.Combine(Path.GetTempPath(), $"vi-ocr-{Guid.NewGuid():N}.png");
        big.WriteToFile(path);
        try
        {
            var start = new ProcessStartInfo("tesseract", [path, "stdout", "--psm", "7", "-c", "tessedit_char_whitelist=ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            using var process = Process.Start(start) ?? throw new InvalidOperationException("tesseract did not start");
            var text = process.StandardOutput.ReadToEnd();
            process.StandardError.ReadToEnd();
            process.WaitForExit();
            Assert.True(process.ExitCode == 0, $"tesseract failed on {photo.Name} (is Debian's tesseract-ocr installed? ./test.sh installs it)");
            return new string([.. text.Where(char.IsAsciiLetterOrDigit)]);
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>The longest run of the plate's characters, in order and next to each other, found in what was read.</summary>
    internal static int LongestRun(string plate, string read)
    {
        var best = 0;
        for (var i = 0; i < plate.Length; i++)
            for (var length = best + 1; i + length <= plate.Length; length++)
                if (read.Contains(plate.Substring(i, length), StringComparison.Ordinal))
                    best = length;
                else
                    break;
        return best;
    }

    [Fact]
    public void LongestRun_CountsCharactersInOrderNextToEachOther()
    {
        Assert.Equal(3, LongestRun("RK891AU", "XX891Q"));
        Assert.Equal(2, LongestRun("RK891AU", "RKAU"));
        Assert.Equal(0, LongestRun("RK891AU", ""));
    }

    [Fact]
    public void Blurred_Plates_TesseractReadsThemInTheOriginal_AndNoRunOf3AfterTheBlur()
    {
        var readable = 0;
        foreach (var photo in PlatePhoto.All())
        {
            var original = File.ReadAllBytes(photo.Path);
            using var decoded = Image.NewFromBuffer(original);
            var (blurred, width, height) = PrivacyBlur.Jpeg(original, [photo.Box(decoded.Width, decoded.Height)]);
            Assert.Equal((decoded.Width, decoded.Height), (width, height));

            var before = Read(original, photo);
            var after = Read(blurred, photo);
            output.WriteLine($"{photo.Name} {photo.Plate}: original read '{before}' ({LongestRun(photo.Plate, before)} in order), blurred read '{after}'");
            if (LongestRun(photo.Plate, before) >= 3)
                readable++;
            Assert.True(LongestRun(photo.Plate, after) < 3, $"{photo.Name}: tesseract read '{after}' from the blurred plate {photo.Plate}");
        }
        // The proof means something only if the same reading finds the plates in the clear photos.
        Assert.True(readable >= 5, $"tesseract read only {readable} plates from the originals");
    }

    [Fact]
    public void Blur_ChangesOnlyThePaddedBox()
    {
        var photo = PlatePhoto.All().First(p => p.European);
        using var image = Image.NewFromFile(photo.Path);
        var box = photo.Box(image.Width, image.Height);
        using var hidden = PrivacyBlur.Apply(image, [box]);
        var r = PrivacyBlur.Pixels(box, image.Width, image.Height)!.Value;
        using var difference = (image - hidden).Abs();
        using var inside = difference.Crop(r.Left, r.Top, r.Width, r.Height);
        Assert.True(inside.Avg() > 10, $"the box changed by {inside.Avg():0.0} on average");
        // Everything but the padded box is the same pixels: the strips above, below, left and right of it.
        var strips = new[]
        {
            (0, 0, image.Width, r.Top), (0, r.Top + r.Height, image.Width, image.Height - r.Top - r.Height),
            (0, r.Top, r.Left, r.Height), (r.Left + r.Width, r.Top, image.Width - r.Left - r.Width, r.Height),
        };
        foreach (var (x, y, w, h) in strips.Where(s => s.Item3 > 0 && s.Item4 > 0))
        {
            using var strip = difference.Crop(x, y, w, h);
            Assert.Equal(0, strip.Max());
        }
        Assert.True(r.Width >= photo.Width * 1.19 && r.Height >= photo.Height + 2 * 0.1 * photo.Width - 2, $"the box is padded by 10 %: {r}");
    }
}
