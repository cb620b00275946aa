using System.Buffers;

namespace VehicleImages.Web.Live;

/// <summary>
/// Each photo's status as a one-byte code, kept by a live gallery for every photo of its vehicle: the ids
/// sorted in one array and the codes beside them in another, 17 bytes a photo (a
/// <c>Dictionary&lt;Guid, byte&gt;</c> takes about 32 and its prime-sized arrays went to the large object
/// heap at 5,000 photos; 5,000 ids here are 80 KB, under the 85,000 bytes where that heap starts).
/// Lookups are binary searches; a photo added later (an upload) is inserted in order, which moves the
/// arrays' tail: a few KB, once per new photo.
/// </summary>
public sealed class PhotoStatuses
{
    private Guid[] _ids;
    private byte[] _codes;

    private PhotoStatuses(Guid[] ids, byte[] codes, int count) => (_ids, _codes, Count) = (ids, codes, count);

    public static PhotoStatuses Empty => new([], [], 0);

    public int Count { get; private set; }

    public bool TryGetValue(Guid id, out byte code)
    {
        var at = Array.BinarySearch(_ids, 0, Count, id);
        code = at >= 0 ? _codes[at] : default;
        return at >= 0;
    }

    /// <summary>Sets a photo's code, adding the photo when it is new.</summary>
    public void Set(Guid id, byte code)
    {
        var at = Array.BinarySearch(_ids, 0, Count, id);
        if (at >= 0)
        {
            _codes[at] = code;
            return;
        }

        at = ~at;
        if (Count == _ids.Length)
        {
            // Grows by an eighth (at least 16): uploads add photos a few at a time.
            var capacity = Count + Math.Max(16, Count / 8);
            Array.Resize(ref _ids, capacity);
            Array.Resize(ref _codes, capacity);
        }

        Array.Copy(_ids, at, _ids, at + 1, Count - at);
        Array.Copy(_codes, at, _codes, at + 1, Count - at);
        _ids[at] = id;
        _codes[at] = code;
        Count++;
    }

    public bool Remove(Guid id, out byte code)
    {
        var at = Array.BinarySearch(_ids, 0, Count, id);
        if (at < 0)
        {
            code = default;
            return false;
        }

        code = _codes[at];
        Array.Copy(_ids, at + 1, _ids, at, Count - at - 1);
        Array.Copy(_codes, at + 1, _codes, at, Count - at - 1);
        Count--;
        return true;
    }

    /// <summary>
    /// The statuses read from the database, without a temporary dictionary or list per gallery: the rows
    /// go into buffers borrowed from the shared array pool, then into arrays of exactly their count, sorted.
    /// </summary>
    public static async Task<PhotoStatuses> ReadAsync(IAsyncEnumerable<(Guid Id, string Status)> rows, Func<string, byte> code)
    {
        var ids = ArrayPool<Guid>.Shared.Rent(256);
        var codes = ArrayPool<byte>.Shared.Rent(256);
        var count = 0;
        try
        {
            await foreach (var (id, status) in rows)
            {
                if (count == ids.Length)
                {
                    Grow(ref ids, count);
                    Grow(ref codes, count);
                }

                ids[count] = id;
                codes[count] = code(status);
                count++;
            }

            var sortedIds = ids.AsSpan(0, count).ToArray();
            var sortedCodes = codes.AsSpan(0, count).ToArray();
            // Ids are the table's primary key: no duplicates to merge.
            Array.Sort(sortedIds, sortedCodes);
            return new PhotoStatuses(sortedIds, sortedCodes, count);
        }
        finally
        {
            ArrayPool<Guid>.Shared.Return(ids);
            ArrayPool<byte>.Shared.Return(codes);
        }
    }

    private static void Grow<T>(ref T[] rented, int count)
    {
        var bigger = ArrayPool<T>.Shared.Rent(rented.Length * 2);
        rented.AsSpan(0, count).CopyTo(bigger);
        ArrayPool<T>.Shared.Return(rented);
        rented = bigger;
    }
}
