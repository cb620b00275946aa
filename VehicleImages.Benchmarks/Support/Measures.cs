using System.Diagnostics;

namespace VehicleImages.Benchmarks.Support;

/// <summary>Small readings and formats every figure uses.</summary>
internal static class Measures
{
    public static string Mib(long bytes) => $"{bytes / 1024.0 / 1024:0} MiB";

    public static double Median(List<double> values) =>
        values.Count == 0 ? double.NaN : values.Order().ElementAt(values.Count / 2);

    public static string Load() => File.ReadAllText("/proc/loadavg").Split(' ')[0];

    public static TimeSpan CpuOf(int pid)
    {
        using var p = Process.GetProcessById(pid);
        return p.TotalProcessorTime;
    }
}
