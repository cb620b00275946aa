using VehicleImages.Web.Live;

namespace VehicleImages.Tests.Live;

/// <summary>The relay's pacing, on timestamps the test chooses: few changes go out at once, a burst one batch per window.</summary>
public sealed class RelayPacerTests
{
    private static readonly TimeSpan Window = TimeSpan.FromMilliseconds(150);

    private static long At(double milliseconds) => (long)(milliseconds / 1000 * TimeProvider.System.TimestampFrequency);

    [Fact]
    public void Pacer_PendingThenProcessingMillisecondsApart_BothGoOutAtOnce()
    {
        var pacer = new RelayPacer(Window);

        Assert.Equal(TimeSpan.Zero, pacer.WaitBeforeSending(At(0)));
        pacer.Sent(At(0));
        Assert.Equal(TimeSpan.Zero, pacer.WaitBeforeSending(At(20)));
    }

    [Fact]
    public void Pacer_SustainedBurst_SendsOneBatchPerWindow()
    {
        var pacer = new RelayPacer(Window);
        var now = 0.0;
        var sends = 0;
        while (now < 3000)
        {
            // A change is always waiting: the relay sends whenever the pacer lets it.
            var wait = pacer.WaitBeforeSending(At(now));
            now += wait.TotalMilliseconds;
            pacer.Sent(At(now));
            sends++;
            now += 1;
        }

        // 3 s of a flood: 20 windows, plus the first burst of RelayPacer.Burst.
        Assert.InRange(sends, 20, 20 + RelayPacer.Burst);
    }

    [Fact]
    public void Pacer_AfterAQuietSpell_SendsAtOnceAgain()
    {
        var pacer = new RelayPacer(Window);
        foreach (var t in new[] { 0.0, 1, 2 })
            pacer.Sent(At(t));

        Assert.True(pacer.WaitBeforeSending(At(3)) > TimeSpan.Zero);
        Assert.Equal(TimeSpan.Zero, pacer.WaitBeforeSending(At(1000)));
    }
}
