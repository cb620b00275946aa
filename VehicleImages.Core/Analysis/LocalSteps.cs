using Microsoft.Extensions.Logging;
using VehicleImages.Core.Processing.Queue;

namespace VehicleImages.Core.Analysis;

/// <summary>
/// Work on a photo's own pixels that runs in the worker before tier 1, whatever provider is configured (it costs no
/// provider call): the privacy-box detector, the embedding and focus measures. Each step stores its own result and skips
/// a photo it has already done, so a retried attempt does not pay twice; a backfill chore runs the same step on photos
/// stored before it existed.
/// </summary>
public interface ILocalStep
{
    /// <summary>For the logs: "privacy detector", "embedding".</summary>
    string Name { get; }

    Task RunAsync(AnalysisRequest request, CancellationToken cancellationToken);
}

/// <summary>Runs the registered local steps in order. A step that breaks is logged and skipped (its backfill tries again
/// later): a local measure never fails or holds up the photo's analysis. The store being down is the exception: the photo waits.</summary>
public sealed class LocalSteps(IEnumerable<ILocalStep> steps, ILogger<LocalSteps> logger)
{
    public async Task RunAsync(AnalysisRequest request, CancellationToken cancellationToken)
    {
        foreach (var step in steps)
        {
            try
            {
                await step.RunAsync(request, cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException and not Storage.StoreUnavailableException and not Processing.Queue.ClaimLostException)
            {
                logger.LogWarning(e, "The local step {Step} failed on photo {Image}; the analysis goes on without it", step.Name, request.ImageId);
            }
        }
    }
}
