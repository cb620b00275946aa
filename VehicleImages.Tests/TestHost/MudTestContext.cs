using Bunit;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor.Services;

namespace VehicleImages.Tests.TestHost;

/// <summary>bUnit context set up the way MudBlazor's own tests do it.</summary>
public abstract class MudTestContext : BunitContext
{
    protected MudTestContext()
    {
        JSInterop.Mode = JSRuntimeMode.Loose;
        Services.AddMudServices(o => o.PopoverOptions.CheckForPopoverProvider = false);
    }
}
