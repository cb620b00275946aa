using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using VehicleImages.Core.Configuration;

namespace VehicleImages.Core.Processing.Chores;

/// <summary>One chore and when it runs: first after <see cref="FirstAfter"/>, then every <see cref="Every"/>.</summary>
public sealed record ScheduledChore(Type Chore, TimeSpan Every, TimeSpan FirstAfter);

/// <summary>
/// Every recurring chore and its schedule, in one place. They run on every instance, workers or not;
/// each chore is safe to run on several instances at once.
/// </summary>
public sealed class MaintenanceSchedule(IOptions<ProcessingOptions> options)
{
    public IReadOnlyList<ScheduledChore> Chores =>
    [
        // Often enough that a dead worker's photo waits little more than its lease.
        new(typeof(RescueExpiredClaims), TimeSpan.FromSeconds(Math.Clamp(options.Value.LeaseSeconds / 4, 1, 10)), TimeSpan.Zero),
        new(typeof(SweepUnqueuedImages), TimeSpan.FromMinutes(5), TimeSpan.Zero),
        new(typeof(PruneFinishedJobs), TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(1)),
        new(typeof(SweepOrphanFiles), TimeSpan.FromMinutes(30), TimeSpan.FromMinutes(1)),
        new(typeof(MeasureQueueDepth), TimeSpan.FromSeconds(15), TimeSpan.Zero),
        new(typeof(SweepExpiredUploads), TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(1)),
        new(typeof(Privacy.PrivacyBackfill), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(1)),
        new(typeof(Embeddings.BackfillEmbeddings), TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(30)),
    ];

    internal static void Register(IServiceCollection services)
    {
        services.AddSingleton<MaintenanceSchedule>();
        services.AddSingleton<RescueExpiredClaims>();
        services.AddSingleton<SweepUnqueuedImages>();
        services.AddSingleton<PruneFinishedJobs>();
        services.AddSingleton<SweepOrphanFiles>();
        services.AddSingleton<MeasureQueueDepth>();
        services.AddSingleton<SweepExpiredUploads>();
        services.AddSingleton<Privacy.PrivacyBackfill>();
        services.AddSingleton<Embeddings.BackfillEmbeddings>();
        services.AddHostedService<ChoreRunner>();
    }
}

/// <summary>Runs each scheduled chore on its own timer; a chore that fails logs and runs again at its next turn.</summary>
public sealed class ChoreRunner(MaintenanceSchedule schedule, IServiceProvider services, ILogger<ChoreRunner> logger) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(schedule.Chores.Select(c => RunAsync(c, (IChore)services.GetRequiredService(c.Chore), stoppingToken)));

    private async Task RunAsync(ScheduledChore scheduled, IChore chore, CancellationToken stoppingToken)
    {
        var name = scheduled.Chore.Name;
        try
        {
            if (scheduled.FirstAfter > TimeSpan.Zero)
                await Task.Delay(scheduled.FirstAfter, stoppingToken);
            using var timer = new PeriodicTimer(scheduled.Every);
            do
            {
                try
                {
                    var handled = await chore.RunAsync(stoppingToken);
                    if (handled > 0)
                        logger.LogInformation("{Chore} handled {Count}", name, handled);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // A database that is away is expected now and then; anything else deserves its stack trace.
                    logger.LogWarning(e is NpgsqlException or TimeoutException ? null : e, "{Chore} failed ({Message}); it runs again at its next turn", name, e.Message);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
