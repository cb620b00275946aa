namespace VehicleImages.Tests.EndToEnd;

/// <summary>
/// Browser tests that drive the pointer or the keyboard through timed interactions (a SortableJS drag with its 120 ms
/// animation, the file chooser opened from a key press, a toast to reach by Tab) run by themselves, after the parallel
/// classes: on a 2-core machine shared with another Chromium and app they lost events now and then. Alone they are not
/// timing-dependent; nothing here is retried.
/// </summary>
[CollectionDefinition(nameof(PointerFlows), DisableParallelization = true)]
public sealed class PointerFlows;
