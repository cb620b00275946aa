using Bunit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.JSInterop;
using VehicleImages.Web.Components.Pages.Vehicles;

namespace VehicleImages.Tests.Components;

/// <summary>
/// A page attaches its script once, even when it renders again while the script's module is still loading. Two
/// SortableJS instances on the listing sorted nothing (the drag belonged to one, the list answered to the other, which
/// refused it): seen as a drag that never landed when the machine was busy enough for a render to come in between.
/// </summary>
public sealed class ScriptAttachTests : LivePageContext
{
    /// <summary>A loaded module that only counts the calls made on it.</summary>
    private sealed class CountingModule : IJSObjectReference
    {
        public List<string> Calls { get; } = [];
        public TaskCompletionSource Attached { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ValueTask<TValue> InvokeAsync<TValue>(string identifier, object?[]? args)
        {
            lock (Calls)
                Calls.Add(identifier);
            if (identifier == "attach")
                Attached.TrySetResult();
            return ValueTask.FromResult(default(TValue)!);
        }

        public ValueTask<TValue> InvokeAsync<TValue>(string identifier, CancellationToken cancellationToken, object?[]? args) =>
            InvokeAsync<TValue>(identifier, args);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    /// <summary>
    /// The browser as the page sees it: the module import of <see cref="Path"/> waits until the test lets it finish (and is
    /// counted); every other call answers nothing, as bUnit's loose mode does.
    /// </summary>
    private sealed class SlowImportRuntime : IJSRuntime
    {
        public string Path { get; set; } = "";
        public TaskCompletionSource<IJSObjectReference> Loaded { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public int Imports;
        public TaskCompletionSource Importing { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ValueTask<TValue> InvokeAsync<TValue>(string identifier, object?[]? args)
        {
            if (identifier == "import" && args is [string path] && path == Path)
            {
                Interlocked.Increment(ref Imports);
                Importing.TrySetResult();
                return new ValueTask<TValue>(Loaded.Task.ContinueWith(t => (TValue)t.Result, TaskScheduler.Default));
            }
            return ValueTask.FromResult(default(TValue)!);
        }

        public ValueTask<TValue> InvokeAsync<TValue>(string identifier, CancellationToken cancellationToken, object?[]? args) =>
            InvokeAsync<TValue>(identifier, args);
    }

    private readonly SlowImportRuntime _runtime = new() { Path = "./js/listing-sort.js" };

    // Registered before the context hands out its first service; the listing's drag module loads slowly.
    public ScriptAttachTests() => Services.AddSingleton<IJSRuntime>(_runtime);

    [Fact]
    public async Task Listing_RenderedAgainWhileItsDragModuleLoads_AttachesSortableJsOnce()
    {
        var runtime = _runtime;
        var page = Render<ListingEditor>(p => p.Add(e => e.VehicleId, Vehicle));
        // Awaited, not looked for on a render: the page renders nothing after it asks for the module.
        await runtime.Importing.Task.WaitAsync(Patience, Xunit.TestContext.Current.CancellationToken);

        // A render while the module loads (a live status batch, a parameter set again).
        page.Render();
        page.WaitForAssertion(() => Assert.NotEmpty(page.FindAll("#listing-items")), Patience);
        var module = new CountingModule();
        runtime.Loaded.SetResult(module);

        await module.Attached.Task.WaitAsync(Patience, Xunit.TestContext.Current.CancellationToken);
        Assert.Equal(1, runtime.Imports);
        Assert.Single(module.Calls, c => c == "attach");
    }
}
