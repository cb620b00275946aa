using Amazon.S3;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using VehicleImages.Core.Configuration;
using VehicleImages.Core.Storage;
using VehicleImages.Tests.TestHost;
using VehicleImages.Web;

namespace VehicleImages.Tests.Storage;

public sealed class S3ConfigurationTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("Storage__S3__Bucket", "Storage:S3:ServiceUrl", "http://127.0.0.1:9000")]
    [InlineData("Storage__S3__ServiceUrl", "Storage:S3:ServiceUrl", "ftp://example.test", "Storage:S3:Bucket", "photos")]
    [InlineData("Storage__S3__SecretKey", "Storage:S3:Bucket", "photos", "Storage:S3:AccessKey", "key")]
    [InlineData("Storage__S3__AccessKey", "Storage:S3:Bucket", "photos", "Storage:S3:SecretKey", "secret")]
    [InlineData("Storage__S3__Bucket", "Storage:S3:Bucket", "Not_A_Bucket")]
    public async Task Start_S3WithAMissingOrBadKey_StopsNamingIt(string named, params string[] pairs)
    {
        var cs = await (await PostgresServer.GetAsync()).CreateDatabaseAsync();
        var settings = pairs.Chunk(2).Select(p => KeyValuePair.Create(p[0], (string?)p[1]))
            .Append(KeyValuePair.Create("Storage:Provider", (string?)"S3"))
            .Append(KeyValuePair.Create("ConnectionStrings:Default", (string?)cs));
        var app = VehicleImagesApp.Build(["--urls", "http://127.0.0.1:0"], b => b.Configuration.AddInMemoryCollection(settings));
        await using (app)
        {
            var error = await Assert.ThrowsAsync<OptionsValidationException>(() => VehicleImagesApp.StartAsync(app, Ct));
            Assert.Contains(named, error.Message);
        }
    }

    [Fact]
    public async Task Start_BucketMissing_IsCreated()
    {
        var s3 = await S3Server.GetAsync();
        var bucket = S3Server.NewBucket();
        using var client = new AmazonS3Client(S3Server.AccessKey, S3Server.SecretKey, new AmazonS3Config { ServiceURL = s3.ServiceUrl.ToString(), ForcePathStyle = true });
        Assert.False(await ExistsAsync(client, bucket));

        await using var app = await TestApp.StartAsync(await (await PostgresServer.GetAsync()).CreateDatabaseAsync(), s3.Settings(bucket));

        Assert.True(await ExistsAsync(client, bucket));
        await app.Services.GetRequiredService<IImageStore>().CheckAsync(Ct);
    }

    [Fact]
    public void Defaults_FileStoreAndContractValues()
    {
        var options = new StorageOptions();
        Assert.Equal((StorageProvider.FileSystem, "us-east-1", true), (options.Provider, options.S3.Region, options.S3.ForcePathStyle));
    }

    private static async Task<bool> ExistsAsync(AmazonS3Client client, string bucket)
    {
        try
        {
            await client.ListObjectsV2Async(new Amazon.S3.Model.ListObjectsV2Request { BucketName = bucket, MaxKeys = 1 }, Ct);
            return true;
        }
        catch (AmazonS3Exception e) when (e.ErrorCode == "NoSuchBucket")
        {
            return false;
        }
    }
}
