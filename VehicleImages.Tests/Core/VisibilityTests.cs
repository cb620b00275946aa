using VehicleImages.Core.Images;
using VehicleImages.Core.Vehicles;

namespace VehicleImages.Tests.Core;

public sealed class VisibilityTests
{
    private static readonly Guid Owner = Guid.NewGuid(), Other = Guid.NewGuid();

    private static readonly VehicleImage[] Images =
    [
        new() { Id = Guid.NewGuid(), UserId = Owner, FileName = "mine.jpg" },
        new() { Id = Guid.NewGuid(), UserId = Other, FileName = "theirs.jpg" },
    ];

    private static readonly Vehicle[] Vehicles =
    [
        new() { Id = Guid.NewGuid(), UserId = Owner, Name = "Mine" },
        new() { Id = Guid.NewGuid(), UserId = Other, Name = "Theirs" },
    ];

    [Fact]
    public void VisibleTo_Owner_OnlyTheirOwnRows()
    {
        var caller = new Caller(Owner, IsAdmin: false);

        Assert.Equal(["mine.jpg"], Images.AsQueryable().VisibleTo(caller).Select(i => i.FileName));
        Assert.Equal(["Mine"], Vehicles.AsQueryable().VisibleTo(caller).Select(v => v.Name));
    }

    [Fact]
    public void VisibleTo_Admin_EveryRow()
    {
        var caller = new Caller(Guid.NewGuid(), IsAdmin: true);

        Assert.Equal(["mine.jpg", "theirs.jpg"], Images.AsQueryable().VisibleTo(caller).Select(i => i.FileName));
        Assert.Equal(["Mine", "Theirs"], Vehicles.AsQueryable().VisibleTo(caller).Select(v => v.Name));
    }

    [Fact]
    public void VisibleTo_Stranger_Nothing()
    {
        var caller = new Caller(Guid.NewGuid(), IsAdmin: false);

        Assert.Empty(Images.AsQueryable().VisibleTo(caller));
        Assert.Empty(Vehicles.AsQueryable().VisibleTo(caller));
    }
}
