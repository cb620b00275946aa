using NetVips;

namespace VehicleImages.Tests.Embeddings;

/// <summary>Documents rendered as photos would show them: dark text on a light page, each with its own words and layout.</summary>
public static class Documents
{
    private static readonly string[] Kinds = ["RECEIPT", "INVOICE", "SERVICE RECORD", "REGISTRATION", "WINDOW STICKER", "INSPECTION"];

    public static byte[] Make(int n)
    {
        var random = new Random(n);
        var lines = new List<string> { $"{Kinds[n % Kinds.Length]} No. {1000 + n * 37}" };
        for (var i = 0; i < 8 + n % 5; i++)
            lines.Add($"{(char)('A' + random.Next(26))}{random.Next(100, 999)} {Words(random)} ........ {random.Next(5, 900)}.{random.Next(10, 99)}");
        lines.Add($"TOTAL {random.Next(100, 5000)}.00");
        using var text = Image.Text(string.Join('\n', lines), dpi: 110 + n % 4 * 20, font: "sans");
        using var ink = text.Linear([-0.8], [230.0]).Cast(Enums.BandFormat.Uchar);
        using var page = ink.Embed(40 + n % 3 * 20, 50, text.Width + 100 + n % 4 * 30, text.Height + 120, extend: Enums.Extend.White);
        using var colour = page.Bandjoin(page, page.Linear([0.97], [0.0]).Cast(Enums.BandFormat.Uchar)).Copy(interpretation: Enums.Interpretation.Srgb);
        return colour.JpegsaveBuffer(q: 85);
    }

    private static string Words(Random random)
    {
        string[] words = ["oil filter", "brake pads", "labour", "tyre", "wiper", "battery", "coolant", "spark plug", "alignment", "inspection"];
        return words[random.Next(words.Length)];
    }
}
