using VehicleImages.Core.Images;
using VehicleImages.Core.Processing;
using VehicleImages.Core.Processing.Status;

namespace VehicleImages.Web.Live;

public sealed record Toast(string Text, bool IsError, Guid? RetryImageId);

/// <summary>
/// What a person is told about a batch of status changes: one toast per kind of change, never one per
/// photo in a burst ("Analyzing 12 photos…", "12 analyzed"); failures name the photo and its reason
/// when there are few, and are counted when there are many.
/// </summary>
public static class ToastPlanner
{
    public const int NamedFailures = 3;

    public static IReadOnlyList<Toast> Plan(IReadOnlyList<ImageStatusEvent> batch, Func<Guid, string> fileName)
    {
        var toasts = new List<Toast>();
        var started = batch.Count(e => e.Status == ProcessingStatus.Processing);
        var done = batch.Count(e => e.Status == ProcessingStatus.Complete);
        var failed = batch.Where(e => e.Status == ProcessingStatus.Failed).ToList();
        var cancelled = batch.Count(e => e.Status == ProcessingStatus.Cancelled);
        if (started > 0)
            toasts.Add(new Toast(started == 1 ? "Analyzing 1 photo…" : $"Analyzing {started} photos…", false, null));
        if (done > 0)
            toasts.Add(new Toast(done == 1 ? "1 photo analyzed" : $"{done} analyzed", false, null));
        if (failed.Count > NamedFailures)
            toasts.Add(new Toast($"{failed.Count} photos failed; see the Failed filter to retry them", true, null));
        else
            toasts.AddRange(failed.Select(f => new Toast($"{fileName(f.ImageId)} failed: {f.Error ?? "unknown error"}", true, f.ImageId)));
        if (cancelled > 0)
            toasts.Add(new Toast(cancelled == 1 ? "1 photo's analysis was cancelled by an administrator"
                : $"{cancelled} photos' analysis was cancelled by an administrator", false, null));
        return toasts;
    }
}
