using VehicleImages.Core.Images;
using VehicleImages.Core.Processing;
using VehicleImages.Core.Processing.Status;

namespace VehicleImages.Web.Live;

/// <summary>
/// One vehicle's photos as a page shows them, kept current without reloading the list: a status event
/// patches its photo from the event itself (status, attempts, error). One row is fetched only for a
/// photo the page has not seen (uploaded here or in another tab), or for one that just completed where
/// the page depends on its category, which analysis sets and events do not carry. An empty batch means
/// changes may have been missed: that, a person's action and a new filter reload the list.
/// </summary>
/// <remarks>
/// Every change passes one gate. A page's callbacks interleave at each await, so without it a fetch
/// that began before an event could finish after it and put the older status back for good.
/// </remarks>
public sealed class LivePhotos(ImageService images, Caller caller, Guid vehicleId, bool showsCategories = false)
{
    private readonly ChangeGate _gate = new();
    private List<ImageSummary> _items = [];

    public Guid VehicleId => vehicleId;

    /// <summary>In the order <see cref="ImageService.ListAsync"/> gives.</summary>
    public IReadOnlyList<ImageSummary> Items => _items;

    public ImageFilter Filter { get; private set; } = new();

    /// <summary>The list query, with a new filter or the one in use.</summary>
    public Task LoadAsync(ImageFilter? filter = null) => _gate.RunAsync(() => ReloadAsync(filter ?? Filter));

    public Task ApplyAsync(IReadOnlyList<ImageStatusEvent> batch) => _gate.RunAsync(async () =>
    {
        if (batch.Count == 0)
        {
            await ReloadAsync(Filter);
            return;
        }

        foreach (var e in batch.Where(e => e.VehicleId == vehicleId))
        {
            var index = _items.FindIndex(i => i.Id == e.ImageId);
            if (Filter.Status is { } status && status != e.Status)
            {
                if (index >= 0)
                    _items.RemoveAt(index);
            }
            else if (index < 0 || (e.Status == ProcessingStatus.Complete && DependsOnCategory))
            {
                await RefreshAsync(e.ImageId);
            }
            else
            {
                _items[index] = _items[index] with { ProcessingStatus = e.Status, Attempts = e.Attempts, LastError = e.Error };
            }
        }
    });

    /// <summary>Photos just uploaded: fetched by id, unless their first event already brought them.</summary>
    public Task AddAsync(IEnumerable<Guid> imageIds) => _gate.RunAsync(async () =>
    {
        foreach (var id in imageIds.Distinct().ToList())
            if (!_items.Exists(i => i.Id == id))
                await RefreshAsync(id);
    });

    private bool DependsOnCategory => showsCategories || Filter.Category is not null || Filter.Angle is not null;

    private async Task ReloadAsync(ImageFilter filter)
    {
        Filter = filter;
        _items = [.. await images.ListAsync(caller, vehicleId, filter) ?? []];
    }

    private async Task RefreshAsync(Guid imageId)
    {
        var found = await images.GetSummaryAsync(caller, imageId);
        _items.RemoveAll(i => i.Id == imageId);
        // An id from the browser may name another vehicle's photo, or one the filter leaves out.
        if (found is not null && found.VehicleId == vehicleId && Matches(found))
            _items.Insert(PositionOf(found), found);
    }

    private bool Matches(ImageSummary image) =>
        (Filter.Status is null || Filter.Status == image.ProcessingStatus)
        && (Filter.Category is null || Filter.Category == image.Category)
        && (Filter.Angle is null || Filter.Angle == image.Angle);

    /// <summary>Where the list query would have put it: the primary first, then by when taken (or uploaded), then by id.</summary>
    private int PositionOf(ImageSummary image)
    {
        var index = _items.FindIndex(other => Compare(image, other) < 0);
        return index < 0 ? _items.Count : index;
    }

    /// <summary>The list query's order: the primary first, then by when taken (or uploaded), then by id.</summary>
    internal static int Compare(ImageSummary a, ImageSummary b)
    {
        var primary = b.IsPrimary.CompareTo(a.IsPrimary);
        if (primary != 0)
            return primary;
        var when = (a.TakenAt ?? a.CreatedAt).CompareTo(b.TakenAt ?? b.CreatedAt);
        // Guid orders as PostgreSQL's uuid does: by its text, first field first.
        return when != 0 ? when : a.Id.CompareTo(b.Id);
    }
}
