using Microsoft.Extensions.DependencyInjection;
using VehicleImages.Core.Processing;
using VehicleImages.Core.Processing.Queue;

namespace VehicleImages.Tests.TestHost;

public static class QueueAccess
{
    /// <summary>The app's queue as another claimant would use it: its own owner name and lease, as a second process has.</summary>
    public static JobQueue QueueAs(this TestApp app, string owner, TimeSpan lease) =>
        ActivatorUtilities.CreateInstance<JobQueue>(app.Services, new QueueOwner(owner, lease));
}
