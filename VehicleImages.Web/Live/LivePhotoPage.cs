using VehicleImages.Core.Images;
using VehicleImages.Core.Processing;
using VehicleImages.Core.Processing.Status;

namespace VehicleImages.Web.Live;

/// <summary>
/// One page of a vehicle's photos, paged on the server, kept current without reloading: what the
/// gallery holds, so a circuit's memory does not grow with the vehicle's photo count. Beside the page
/// it keeps only each photo's id and status (a few dozen bytes per photo) for the counts above the
/// grid and for knowing whether an event moves a photo into or out of a status filter. A status event
/// patches its card from the payload; one row is fetched only for a photo the page has not seen (an
/// upload, another tab) or one that completed while a category filter is in use. An empty batch (changes
/// may have been missed), a person's action, a new filter and a new page query the database.
/// </summary>
public sealed class LivePhotoPage(ImageService images, Caller caller, Guid vehicleId, int pageSize)
{
    private readonly ChangeGate _gate = new();
    private List<ImageSummary> _items = [];
    // A status per photo as an index into _names, in sorted arrays (17 bytes a photo: at 5,000 photos 85 KB,
    // where a Dictionary<Guid, byte> took 160 KB and a Dictionary<Guid, string> 270 KB).
    private PhotoStatuses _statuses = PhotoStatuses.Empty;
    private readonly List<string> _names = [ProcessingStatus.Pending, ProcessingStatus.Processing, ProcessingStatus.Complete, ProcessingStatus.Failed, ProcessingStatus.Cancelled];
    // Photos per status, kept with _statuses, so a render's counts do not walk every photo of the vehicle.
    private readonly Dictionary<string, int> _counts = [];

    public Guid VehicleId => vehicleId;

    public int PageSize => pageSize;

    /// <summary>The current page, in the list's order.</summary>
    public IReadOnlyList<ImageSummary> Items => _items;

    /// <summary>From 1.</summary>
    public int Page { get; private set; } = 1;

    /// <summary>Photos under the filter, on every page.</summary>
    public int Total { get; private set; }

    public int PageCount => Math.Max(1, (Total + pageSize - 1) / pageSize);

    public ImageFilter Filter { get; private set; } = new();

    /// <summary>Photos under the filter's category and angle (whatever the status filter) with a status <paramref name="matches"/> accepts.</summary>
    public int Count(Func<string, bool> matches) => _counts.Where(c => matches(c.Key)).Sum(c => c.Value);

    /// <summary>The counts and the page, with a new filter (back to page 1) or the ones in use.</summary>
    public Task LoadAsync(ImageFilter? filter = null) => _gate.RunAsync(async () =>
    {
        if (filter is not null && filter != Filter)
            (Filter, Page) = (filter, 1);
        await TrackAsync();
        await LoadPageAsync();
    });

    public Task GoToAsync(int page) => _gate.RunAsync(async () =>
    {
        Page = Math.Max(1, page);
        await LoadPageAsync();
    });

    public Task ApplyAsync(IReadOnlyList<ImageStatusEvent> batch) => _gate.RunAsync(async () =>
    {
        if (batch.Count == 0)
        {
            await TrackAsync();
            await LoadPageAsync();
            return;
        }

        foreach (var e in batch.Where(e => e.VehicleId == vehicleId))
        {
            if (!_statuses.TryGetValue(e.ImageId, out var was))
            {
                await ArrivedAsync(e.ImageId);
                continue;
            }

            var before = _names[was];
            SetStatus(e.ImageId, e.Status);
            var index = _items.FindIndex(i => i.Id == e.ImageId);
            if (Filter.Status is { } status && (before == status) != (e.Status == status))
            {
                if (e.Status == status)
                {
                    Total++;
                    await ShowIfOnThisPageAsync(e.ImageId);
                }
                else
                {
                    Total--;
                    if (index >= 0)
                        _items.RemoveAt(index);
                }
            }
            else if (index >= 0)
            {
                if (e.Status == ProcessingStatus.Complete && (Filter.Category is not null || Filter.Angle is not null))
                    await RefreshAsync(e.ImageId, index);
                else
                    _items[index] = _items[index] with { ProcessingStatus = e.Status, Attempts = e.Attempts, LastError = e.Error };
            }
        }
    });

    /// <summary>
    /// Brings the stack fields of this page's photos up to date (StackWatcher calls it when the vehicle's stacks change);
    /// a photo whose stack did not change keeps its record, and its card is not drawn again.
    /// </summary>
    public Task RestackAsync() => _gate.RunAsync(async () =>
    {
        var stacks = await images.StacksAsync(vehicleId);
        for (var i = 0; i < _items.Count; i++)
        {
            var s = stacks.GetValueOrDefault(_items[i].Id) ?? Core.Embeddings.StackInfo.Alone;
            if (_items[i].StackId != s.StackId || _items[i].IsStackBest != s.IsStackBest || _items[i].StackSize != s.StackSize)
                _items[i] = _items[i] with { StackId = s.StackId, IsStackBest = s.IsStackBest, StackSize = s.StackSize };
        }
    });

    /// <summary>Photos just uploaded: fetched by id, unless their first event already brought them.</summary>
    public Task AddAsync(IEnumerable<Guid> imageIds) => _gate.RunAsync(async () =>
    {
        foreach (var id in imageIds.Distinct().ToList())
            if (!_statuses.TryGetValue(id, out _))
                await ArrivedAsync(id);
    });

    private async Task LoadPageAsync()
    {
        var found = await images.ListPageAsync(caller, vehicleId, Filter, Page, pageSize);
        if (found is not null && found.Items.Count == 0 && found.Total > 0 && Page > 1)
        {
            // The list got shorter than the page asked for: show its last page.
            Page = (found.Total + pageSize - 1) / pageSize;
            found = await images.ListPageAsync(caller, vehicleId, Filter, Page, pageSize);
        }

        _items = [.. found?.Items ?? []];
        Total = found?.Total ?? 0;
    }

    /// <summary>A photo this page has not seen: one row, counted when it is under the filter, shown when it falls on this page.</summary>
    private async Task ArrivedAsync(Guid imageId)
    {
        var found = await images.GetSummaryAsync(caller, imageId);
        // An id from the browser may name another vehicle's photo.
        if (found is null || found.VehicleId != vehicleId || !MatchesCategory(found))
            return;
        SetStatus(found.Id, found.ProcessingStatus);
        if (Filter.Status is { } status && status != found.ProcessingStatus)
            return;
        Total++;
        Place(found);
    }

    private async Task ShowIfOnThisPageAsync(Guid imageId)
    {
        if (await images.GetSummaryAsync(caller, imageId) is { } found && found.VehicleId == vehicleId && MatchesCategory(found))
            Place(found);
    }

    private async Task RefreshAsync(Guid imageId, int index)
    {
        var found = await images.GetSummaryAsync(caller, imageId);
        if (found is not null && MatchesCategory(found))
        {
            _items[index] = found;
            return;
        }

        // Analysis put it in another category than the filter's.
        _items.RemoveAt(index);
        if (_statuses.Remove(imageId, out var was))
            _counts[_names[was]]--;
        Total--;
    }

    /// <summary>Inserts where the list query would put it, when that is on this page; the page keeps its size.</summary>
    private void Place(ImageSummary image)
    {
        _items.RemoveAll(i => i.Id == image.Id);
        var position = _items.FindIndex(other => LivePhotos.Compare(image, other) < 0);
        if (position < 0)
            position = _items.Count;
        var beforeThisPage = position == 0 && Page > 1;
        var afterThisPage = position == _items.Count && _items.Count >= pageSize;
        if (beforeThisPage || afterThisPage)
            return;
        _items.Insert(position, image);
        if (_items.Count > pageSize)
            _items.RemoveAt(_items.Count - 1);
    }

    private void SetStatus(Guid imageId, string status)
    {
        if (_statuses.TryGetValue(imageId, out var was))
            _counts[_names[was]]--;
        var code = Code(status);
        _statuses.Set(imageId, code);
        _counts[_names[code]] = _counts.GetValueOrDefault(_names[code]) + 1;
    }

    /// <summary>The vehicle's statuses as loaded, kept compact, and counted.</summary>
    private async Task TrackAsync()
    {
        _statuses = PhotoStatuses.Empty;
        _counts.Clear();
        _statuses = await PhotoStatuses.ReadAsync(images.StatusesAsync(caller, vehicleId, Filter), status =>
        {
            var code = Code(status);
            _counts[_names[code]] = _counts.GetValueOrDefault(_names[code]) + 1;
            return code;
        });
    }

    private byte Code(string status)
    {
        var code = _names.IndexOf(status);
        if (code >= 0)
            return (byte)code;
        // A status this code does not name (a newer instance's): kept by its name all the same.
        if (_names.Count > byte.MaxValue)
            throw new InvalidOperationException($"more than {byte.MaxValue + 1} distinct photo statuses");
        _names.Add(string.Intern(status));
        return (byte)(_names.Count - 1);
    }

    private bool MatchesCategory(ImageSummary image) =>
        (Filter.Category is null || Filter.Category == image.Category) && (Filter.Angle is null || Filter.Angle == image.Angle);
}
