using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using VehicleImages.Core.Configuration;
using VehicleImages.Web;

namespace VehicleImages.Tests.Limits;

/// <summary>The abuse limits' settings as the app binds them (built, not started: no database needed).</summary>
public sealed class LimitOptionsTests
{
    private static async Task<T> BoundAsync<T>(params (string Key, string Value)[] settings) where T : class
    {
        var app = VehicleImagesApp.Build(["--urls", "http://127.0.0.1:0"], b => b.Configuration.AddInMemoryCollection(
            settings.Select(s => KeyValuePair.Create(s.Key, (string?)s.Value))
                .Append(KeyValuePair.Create("ConnectionStrings:Default", (string?)"Host=127.0.0.1;Database=unused"))));
        await using (app)
            return app.Services.GetRequiredService<IOptions<T>>().Value;
    }

    [Fact]
    public async Task Defaults_MatchTheContractAndLeaveQuotasUnlimited()
    {
        var rates = await BoundAsync<RateLimitOptions>();
        var upload = await BoundAsync<UploadOptions>();
        var quotas = await BoundAsync<QuotaOptions>();
        var accounts = await BoundAsync<AccountOptions>();
        var proxies = await BoundAsync<ForwardedHeadersSettings>();

        Assert.Equal((20, 120), (rates.AuthPerMinute, rates.UploadsPerMinute));
        Assert.Equal(100, upload.MaxFilesPerRequest);
        Assert.Equal(1200, rates.UploadPatchesPerMinute);
        Assert.Equal(200, upload.MaxUnfinishedPerUser);
        Assert.Equal((0L, 0, 0), (quotas.MaxStoredBytes, quotas.PhotosPerDay, quotas.ProviderCallsPerDay));
        Assert.Equal((RegistrationMode.Open, 7), (accounts.Registration, accounts.InvitationDays));
        Assert.Empty(proxies.KnownProxies);
        Assert.Empty(proxies.KnownNetworks);
    }

    [Fact]
    public async Task ForwardedHeaders_CommaSeparatedOrArray_BothBind()
    {
        var proxies = await BoundAsync<ForwardedHeadersSettings>(
            ("ForwardedHeaders:KnownProxies", "10.0.0.2, 10.0.0.3"), ("ForwardedHeaders:KnownNetworks:0", "172.16.0.0/12"),
            ("ForwardedHeaders:KnownNetworks:1", "fd00::/8"));
        var options = await BoundAsync<ForwardedHeadersOptions>(("ForwardedHeaders:KnownProxies", "10.0.0.2"));
        var byDefault = await BoundAsync<ForwardedHeadersOptions>();

        Assert.Equal(["10.0.0.2", "10.0.0.3"], proxies.KnownProxies);
        Assert.Equal(["172.16.0.0/12", "fd00::/8"], proxies.KnownNetworks);
        Assert.Equal([IPAddress.Parse("10.0.0.2")], options.KnownProxies);
        Assert.Empty(options.KnownIPNetworks);
        // Nobody named: a proxy on this machine (loopback) is believed, for the client's address (so the limits see
        // real clients behind a same-host TLS proxy) and the scheme; nobody else. Empty lists alone would trust everyone.
        Assert.Equal(Microsoft.AspNetCore.HttpOverrides.ForwardedHeaders.XForwardedFor | Microsoft.AspNetCore.HttpOverrides.ForwardedHeaders.XForwardedProto,
            byDefault.ForwardedHeaders);
        Assert.Equal([IPAddress.IPv6Loopback], byDefault.KnownProxies);
        Assert.True(Assert.Single(byDefault.KnownIPNetworks).Contains(IPAddress.Loopback));
        Assert.Equal(1, byDefault.ForwardLimit);
    }

    [Theory]
    [InlineData("invite", RegistrationMode.Invite)]
    [InlineData("Closed", RegistrationMode.Closed)]
    [InlineData("open", RegistrationMode.Open)]
    public async Task Registration_AnyCase_Binds(string value, RegistrationMode mode) =>
        Assert.Equal(mode, (await BoundAsync<AccountOptions>(("Accounts:Registration", value))).Registration);
}
