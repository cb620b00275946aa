using Microsoft.Extensions.DependencyInjection;
using VehicleImages.Core.Images;
using VehicleImages.Tests.TestHost;
using VehicleImages.Web.Live;

namespace VehicleImages.Tests.Components;

/// <summary>How a page's list follows events under a filter, where the event alone decides or one row is fetched.</summary>
public sealed class LivePhotosTests : LivePageContext
{
    private async Task<LivePhotos> LoadAsync(ImageFilter filter)
    {
        var photos = new LivePhotos(Services.GetRequiredService<ImageService>(), new Caller(Owner, false), Vehicle);
        await photos.LoadAsync(filter);
        Queries.Reset();
        return photos;
    }

    [Fact]
    public async Task LivePhotos_StatusFilterNoLongerMatches_DropsThePhotoWithoutAQuery()
    {
        var photos = await LoadAsync(new ImageFilter(Status: ProcessingStatus.Processing));

        await photos.ApplyAsync([Event(Photos[0], ProcessingStatus.Complete), Event(Photos[1], ProcessingStatus.Processing, attempts: 2)]);

        var left = Assert.Single(photos.Items);
        Assert.Equal((Photos[1], 2), (left.Id, left.Attempts));
        Assert.Empty(Queries.Commands);
    }

    [Fact]
    public async Task LivePhotos_StatusFilterNotMatched_IgnoresAnUnseenPhotoWithoutAQuery()
    {
        var photos = await LoadAsync(new ImageFilter(Status: ProcessingStatus.Failed));
        var unseen = await InsertPhotoAsync("IMG_3.jpg");

        await photos.ApplyAsync([Event(unseen, ProcessingStatus.Pending)]);

        Assert.Empty(photos.Items);
        Assert.Empty(Queries.Commands);
    }

    [Fact]
    public async Task LivePhotos_CategoryFilter_PhotoThatCompletesIntoAnotherCategoryIsFetchedAndDropped()
    {
        var photos = await LoadAsync(new ImageFilter(Category: Taxonomy.Unknown));
        await ImageRows.ScalarAsync<Guid>(Database, """
            INSERT INTO vehicle_image_angles (image_id, category, angle, confidence, source) VALUES (@id, 'interior', 'dashboard', 0.9, 'ai');
            UPDATE vehicle_images SET processing_status = 'complete' WHERE id = @id RETURNING id
            """, ("id", Photos[0]));

        await photos.ApplyAsync([Event(Photos[0], ProcessingStatus.Complete)]);

        Assert.Equal([Photos[1]], photos.Items.Select(i => i.Id));
        Assert.Single(Queries.Commands);
    }
}
