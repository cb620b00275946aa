using System.Runtime;

/// <summary>
/// Loaded into the app process by the circuits figure only (<c>DOTNET_STARTUP_HOOKS</c>, the runtime's own mechanism
/// for diagnostics; the app has no test-only endpoint). When the file named by <c>BENCH_GC_TRIGGER</c> appears, it
/// runs an aggressive full GC — compacting, and giving every free region back to the OS, as the GC does by itself
/// under memory pressure — and writes the live heap it left next to the trigger, so that the RSS read after it holds
/// what the process needs rather than the regions the GC keeps for its next allocations.
/// </summary>
internal static class StartupHook
{
    public static void Initialize()
    {
        if (Environment.GetEnvironmentVariable("BENCH_GC_TRIGGER") is not { Length: > 0 } trigger)
            return;
        new Thread(() =>
        {
            while (true)
            {
                Thread.Sleep(100);
                if (!File.Exists(trigger))
                    continue;
                GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
                GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
                GC.WaitForPendingFinalizers();
                GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
                File.WriteAllText(trigger + ".done", GC.GetGCMemoryInfo(GCKind.Any).HeapSizeBytes.ToString());
                File.Delete(trigger);
            }
        }) { IsBackground = true, Name = "bench GC trigger" }.Start();
    }
}
