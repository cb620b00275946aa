using System.Globalization;
using VehicleImages.Core.Embeddings;

namespace VehicleImages.Tests.Embeddings;

/// <summary>The labelled set for suggestions, embedded once with the real model.</summary>
public sealed class LabelledPhotos
{
    public sealed record Item(string Label, float[] Vector);

    public IReadOnlyList<Item> Items { get; }

    public LabelledPhotos()
    {
        using var embedder = new ImageEmbedder();
        var sources = new List<(string Label, Func<byte[]> Bytes)>();
        foreach (var path in Directory.GetFiles(Bursts.VehiclesFolder, "*.jpg").Order(StringComparer.Ordinal))
            sources.Add((Path.GetFileName(path).StartsWith("wts-", StringComparison.Ordinal) ? "exterior.front" : "exterior.rear", () => Bursts.Medium(path)));
        for (var n = 0; n < 12; n++)
        {
            var k = n;
            sources.Add(("document.receipt", () => Documents.Make(k)));
        }
        foreach (var scene in Bursts.OtherScenes)
            sources.Add(("not_vehicle.other", () => Bursts.Medium(TestHost.TestData.Image(scene))));
        var items = new Item[sources.Count];
        Parallel.For(0, sources.Count, new ParallelOptions { MaxDegreeOfParallelism = 2 },
            i => items[i] = new Item(sources[i].Label, LocalMeasures.Measure(sources[i].Bytes(), embedder).Vector));
        Items = items;
    }
}

/// <summary>
/// Leave-one-out accuracy of suggestions by how many sorted examples each class has (1, 3, 5): each photo in turn is the
/// unsorted one, and that many other photos of each class, drawn at random (fixed seed, 25 draws), are the sorted ones.
/// The classes: the traffic-camera fronts (16), the European cars from behind-ish angles (16), rendered documents (12)
/// and other scenes (7). The figures printed are the ones in docs/performance.md.
/// </summary>
public sealed class SuggestionAccuracyTests(LabelledPhotos set, ITestOutputHelper output) : IClassFixture<LabelledPhotos>
{
    private (double Correct, double Wrong, double Unknown) Measure(int perClass, double cutoff)
    {
        var random = new Random(29);
        var classes = set.Items.Select(i => i.Label).Distinct().ToList();
        int correct = 0, wrong = 0, unknown = 0;
        for (var q = 0; q < set.Items.Count; q++)
            for (var draw = 0; draw < 25; draw++)
            {
                var sorted = classes.SelectMany(c => set.Items.Where((x, i) => i != q && x.Label == c).OrderBy(_ => random.Next()).Take(perClass))
                    .Select(x => new SuggestionService.Sorted(x.Label.Split('.')[0], x.Label.Split('.')[1], x.Vector)).ToList();
                var s = SuggestionService.Suggest(set.Items[q].Vector, sorted, cutoff);
                if (s is null) unknown++;
                else if ($"{s.Value.Category}.{s.Value.Angle}" == set.Items[q].Label) correct++;
                else wrong++;
            }
        double total = correct + wrong + unknown;
        return (correct / total, wrong / total, unknown / total);
    }

    [Fact]
    public void Suggestions_are_mostly_right_with_a_few_sorted_examples_and_say_unknown_rather_than_guess_far()
    {
        output.WriteLine($"{set.Items.Count} photos: " + string.Join(", ", set.Items.GroupBy(i => i.Label).Select(g => $"{g.Key} {g.Count()}")));
        output.WriteLine("examples per class  cut-off  right  wrong  unknown");
        foreach (var cutoff in new[] { 0.20, 0.25, SuggestionService.Cutoff, 0.35, 0.40, 1.0 }.Distinct().Order())
            foreach (var n in new[] { 1, 3, 5 })
            {
                var (right, wrong, unknown) = Measure(n, cutoff);
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{n,19}  {cutoff,7:0.00}  {right,5:0.000}  {wrong,5:0.000}  {unknown,7:0.000}"));
            }

        var five = Measure(5, SuggestionService.Cutoff);
        var one = Measure(1, SuggestionService.Cutoff);
        Assert.True(five.Correct >= 0.7, $"right {five.Correct:0.000} with 5 examples per class");
        Assert.True(five.Wrong <= 0.1, $"wrong {five.Wrong:0.000} with 5 examples per class");
        Assert.True(five.Correct >= one.Correct, "more sorted examples should not make suggestions worse");
    }
}
