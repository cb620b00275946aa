using Microsoft.Extensions.Logging;
using VehicleImages.Core.Data;

namespace VehicleImages.Core.Processing;

/// <summary>
/// Writes finished analyses, combining those that finish together into one round trip and one
/// commit (group commit). Nothing waits to fill a batch: a completion that finds the writer idle
/// goes at once, alone; those that finish while a write is in flight go together in the next one.
/// So a slow provider sees single writes with no added latency, and a fast one (a local model, or
/// a backlog of quick failures to the same answer) pays one commit per batch instead of per job.
/// </summary>
public sealed class CompletionWriter(JobQueue queue, ILogger<CompletionWriter> logger)
{
    /// <summary>Bounds a batch's size so one transaction never holds many rows locked for long.</summary>
    public const int MaxBatch = 64;

    private readonly Lock _gate = new();
    private List<Pending> _waiting = [];
    private bool _writing;

    /// <summary>True when written; false when the claim had been lost and nothing was written.</summary>
    public Task<bool> CompleteAsync(Completion completion)
    {
        var pending = new Pending(completion, new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously));
        bool lead;
        lock (_gate)
        {
            _waiting.Add(pending);
            lead = !_writing;
            _writing = true;
        }

        if (lead)
            _ = Task.Run(DrainAsync);
        return pending.Done.Task;
    }

    private async Task DrainAsync()
    {
        while (true)
        {
            List<Pending> batch;
            lock (_gate)
            {
                if (_waiting.Count == 0)
                {
                    _writing = false;
                    return;
                }

                if (_waiting.Count <= MaxBatch)
                {
                    batch = _waiting;
                    _waiting = [];
                }
                else
                {
                    batch = _waiting[..MaxBatch];
                    _waiting.RemoveRange(0, MaxBatch);
                }
            }

            await WriteAsync(batch);
        }
    }

    private async Task WriteAsync(List<Pending> batch)
    {
        try
        {
            var done = await queue.CompleteAsync(batch.Select(p => p.Completion).ToList(), CancellationToken.None);
            for (var i = 0; i < batch.Count; i++)
                batch[i].Done.TrySetResult(done[i]);
            return;
        }
        catch (Exception e) when (batch.Count > 1 && (DatabaseErrors.IsDataError(e) || DatabaseErrors.IsDeadlock(e)))
        {
            // One result was refused (or the batch lost a deadlock): the whole batch rolled back.
            // One at a time, each completion succeeds or fails on its own.
            logger.LogWarning("Writing {Count} completions together failed ({Message}); writing them one by one", batch.Count, e.Message);
        }
        catch (Exception e)
        {
            // The database itself is in trouble: trying each again would only queue every later
            // result behind as many timeouts. Their leases expire and the rescuer returns them.
            foreach (var pending in batch)
                pending.Done.TrySetException(e);
            return;
        }

        foreach (var pending in batch)
        {
            try
            {
                pending.Done.TrySetResult((await queue.CompleteAsync([pending.Completion], CancellationToken.None))[0]);
            }
            catch (Exception e)
            {
                pending.Done.TrySetException(e);
            }
        }
    }

    private sealed record Pending(Completion Completion, TaskCompletionSource<bool> Done);
}
