using System.Globalization;
using VehicleImages.Core.Embeddings;

namespace VehicleImages.Tests.Embeddings;

/// <summary>The labelled set's embeddings, computed once for the class (the real ResNet18 model, no stand-in).</summary>
public sealed class BurstEmbeddings
{
    public sealed record Item(int Group, string Photo, string Kind, float[] Vector, double Focus, double Exposure);

    public IReadOnlyList<Item> Items { get; }

    public BurstEmbeddings()
    {
        using var embedder = new ImageEmbedder();
        var photos = Bursts.Photos();
        var items = new Item[photos.Count * (Bursts.Kinds.Length + 1)];
        Parallel.For(0, photos.Count, new ParallelOptions { MaxDegreeOfParallelism = 2 }, g =>
        {
            var medium = Bursts.Medium(photos[g]);
            var copies = new[] { ("original", medium) }.Concat(Bursts.Kinds.Select(k => (k, Bursts.Make(medium, k)))).ToArray();
            for (var k = 0; k < copies.Length; k++)
            {
                var m = LocalMeasures.Measure(copies[k].Item2, embedder);
                items[g * copies.Length + k] = new Item(g, Path.GetFileName(photos[g]), copies[k].Item1, m.Vector, m.Focus, m.Exposure);
            }
        });
        Items = items;
    }
}

/// <summary>
/// The stacking threshold, by measurement: every pair of the labelled set (a photo and its burst copies are positives;
/// copies of different photos, the traffic-camera views of different cars included, are negatives) is a near-duplicate
/// when its cosine distance is at most the threshold. The figures printed here are the ones in docs/performance.md.
/// </summary>
public sealed class StackThresholdTests(BurstEmbeddings set, ITestOutputHelper output) : IClassFixture<BurstEmbeddings>
{
    private (int Tp, int Fp, int Fn, int Tn) Count(double threshold, Func<BurstEmbeddings.Item, BurstEmbeddings.Item, bool>? only = null)
    {
        int tp = 0, fp = 0, fn = 0, tn = 0;
        var items = set.Items;
        for (var i = 0; i < items.Count; i++)
            for (var j = i + 1; j < items.Count; j++)
            {
                if (only is not null && !only(items[i], items[j]))
                    continue;
                var same = items[i].Group == items[j].Group;
                var close = ImageEmbedder.Distance(items[i].Vector, items[j].Vector) <= threshold;
                if (same && close) tp++;
                else if (same) fn++;
                else if (close) fp++;
                else tn++;
            }
        return (tp, fp, fn, tn);
    }

    private static double Precision((int Tp, int Fp, int Fn, int Tn) c) => c.Tp + c.Fp == 0 ? 1 : (double)c.Tp / (c.Tp + c.Fp);
    private static double Recall((int Tp, int Fp, int Fn, int Tn) c) => c.Tp + c.Fn == 0 ? 1 : (double)c.Tp / (c.Tp + c.Fn);

    [Fact]
    public void The_chosen_threshold_stacks_bursts_and_keeps_different_photos_apart()
    {
        output.WriteLine($"{set.Items.Count} images from {set.Items.Select(i => i.Group).Distinct().Count()} photos");
        output.WriteLine("threshold  precision  recall  tp  fp  fn");
        foreach (var t in new[] { 0.02, 0.04, 0.06, 0.08, 0.09, 0.10, 0.11, 0.12, 0.14, 0.16, 0.18, 0.20, 0.25, 0.30, StackService.Threshold }.Distinct().Order())
        {
            var c = Count(t);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{t,9:0.000}  {Precision(c),9:0.0000}  {Recall(c),6:0.0000}  {c.Tp}  {c.Fp}  {c.Fn}"));
        }
        foreach (var kind in Bursts.Kinds)
        {
            var c = Count(StackService.Threshold, (a, b) => a.Group == b.Group && (a.Kind, b.Kind) == ("original", kind));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"recall original↔{kind}: {Recall(c):0.000}"));
        }
        var traffic = Count(StackService.Threshold, (a, b) => a.Photo.StartsWith("wts-", StringComparison.Ordinal) && b.Photo.StartsWith("wts-", StringComparison.Ordinal) && a.Group != b.Group);
        output.WriteLine($"traffic-camera views of different cars stacked: {traffic.Fp} of {traffic.Fp + traffic.Tn} pairs");
        var closestNegative = set.Items.SelectMany((a, i) => set.Items.Skip(i + 1).Where(b => b.Group != a.Group)
            .Select(b => (a.Photo, b.Photo, d: ImageEmbedder.Distance(a.Vector, b.Vector)))).MinBy(x => x.d);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"closest different photos: {closestNegative.Item1} / {closestNegative.Item2} at {closestNegative.d:0.0000}"));

        var chosen = Count(StackService.Threshold);
        Assert.True(Precision(chosen) >= 0.98, $"precision {Precision(chosen):0.0000} at {StackService.Threshold}");
        Assert.True(Recall(chosen) >= 0.90, $"recall {Recall(chosen):0.0000} at {StackService.Threshold}");
    }
}
