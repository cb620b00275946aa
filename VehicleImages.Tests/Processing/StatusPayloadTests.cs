using VehicleImages.Core.Processing;
using VehicleImages.Core.Processing.Events;
using VehicleImages.Core.Processing.Status;

namespace VehicleImages.Tests.Processing;

/// <summary>
/// The status payloads as every instance reads them (ProcessingEvents.Publish): the arrays the trigger
/// and the announcing statements write, names in any case, unknown properties skipped, and a malformed
/// payload dropped without an exception reaching the listener.
/// </summary>
public sealed class StatusPayloadTests
{
    private static List<ImageStatusEvent> Heard(string payload)
    {
        var events = new ProcessingEvents();
        var heard = new List<ImageStatusEvent>();
        events.ImageStatusChanged += heard.Add;
        events.Publish(ProcessingChannels.ImageStatus, payload);
        return heard;
    }

    [Fact]
    public void Array_AsTheStatementsWriteIt_EveryEventWithEveryField()
    {
        var (a, b, v, u) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        var heard = Heard($$"""
            [{"imageId":"{{a}}","vehicleId":"{{v}}","userId":"{{u}}","status":"processing","attempts":2,"error":null},
             {"imageId" : "{{b}}", "vehicleId" : "{{v}}", "userId" : "{{u}}", "status" : "failed", "attempts" : 3, "error" : "no \"answer\" <b>"}]
            """);

        Assert.Equal(
        [
            new ImageStatusEvent(a, v, u, "processing", 2, null),
            new ImageStatusEvent(b, v, u, "failed", 3, "no \"answer\" <b>"),
        ], heard);
    }

    [Fact]
    public void OneEvent_NotInAnArray_AsTheRowTriggerBeforeQueueThroughputWroteIt()
    {
        var (a, v, u) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        var heard = Heard($$"""{"imageId":"{{a}}","vehicleId":"{{v}}","userId":"{{u}}","status":"pending","attempts":0,"error":null}""");

        Assert.Equal([new ImageStatusEvent(a, v, u, "pending", 0, null)], heard);
    }

    [Fact]
    public void Array_NamesInAnotherCaseAndUnknownProperties_ReadAsTheSerializerDid()
    {
        var (a, v, u) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        var heard = Heard($$"""[{"ImageId":"{{a}}","VEHICLEID":"{{v}}","userid":"{{u}}","extra":{"x":[1,2]},"Status":"complete","Attempts":1}]""");

        Assert.Equal([new ImageStatusEvent(a, v, u, "complete", 1, null)], heard);
    }

    [Theory]
    [InlineData("[{\"imageId\":\"not a guid\",\"status\":\"complete\"}]")]
    [InlineData("[{\"imageId\":\"00000000-0000-0000-0000-000000000001\"}]")]
    [InlineData("[{\"imageId\":")]
    public void Array_Malformed_IsDroppedQuietly(string payload) => Assert.Empty(Heard(payload));
}
