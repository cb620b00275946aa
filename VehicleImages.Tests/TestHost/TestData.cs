using System.Text.Json;

namespace VehicleImages.Tests.TestHost;

/// <summary>Real camera files and broken files from ../shared/testdata, with what an independent reader saw.</summary>
public static class TestData
{
    public static string Images => Folder("images");
    public static string Bad => Folder("bad");

    public static string Image(string file) => Path.Combine(Images, file);
    public static string BadFile(string file) => Path.Combine(Bad, file);

    public static IReadOnlyList<JsonElement> Expected()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Images, "expected.json")));
        return doc.RootElement.GetProperty("files").EnumerateArray().Select(e => e.Clone()).ToList();
    }

    public static TheoryData<string> ExpectedFileNames()
    {
        var data = new TheoryData<string>();
        // Listed even when the folder is missing, so that the missing folder fails a test loudly.
        if (!Directory.Exists(RepoPaths.TestData))
            data.Add("(../shared/testdata is missing)");
        else
            foreach (var e in Expected())
                data.Add(e.GetProperty("file").GetString()!);
        return data;
    }

    public static JsonElement ExpectedFor(string file) =>
        Expected().Single(e => e.GetProperty("file").GetString() == file);

    private static string Folder(string name)
    {
        var path = Path.Combine(RepoPaths.TestData, name);
        if (!Directory.Exists(path))
            throw new InvalidOperationException(
                $"Test data folder {path} is missing: these tests read real camera files from ../shared/testdata beside the repository.");
        return path;
    }
}
