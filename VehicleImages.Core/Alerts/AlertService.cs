using System.Net.Http.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using VehicleImages.Core.Configuration;
using VehicleImages.Core.Data;

namespace VehicleImages.Core.Alerts;

public static class AlertKind
{
    public const string ImageFailed = "image_failed";
    public const string FailureBurst = "failure_burst";
    public const string ProviderUnavailable = "provider_unavailable";
    public const string ProviderRecovered = "provider_recovered";
}

public sealed record AlertMessage(Guid Id, string Kind, string Message, Guid? ImageId, DateTimeOffset CreatedAt);

/// <summary>
/// Writes admin alerts, announces them (NOTIFY admin_alert, which every instance relays to admins),
/// and POSTs them to Alerts:WebhookUrl when set. When many photos fail within a few minutes, admins get
/// one alert that says so instead of one per photo.
/// </summary>
public sealed class AlertService(NpgsqlDataSource db, IHttpClientFactory http, IOptions<AlertsOptions> options, ILogger<AlertService> logger)
{
    public static readonly TimeSpan BurstWindow = TimeSpan.FromMinutes(5);
    public const int BurstThreshold = 5;

    public async Task<AlertMessage?> ImageFailedAsync(Guid imageId, string fileName, string error, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        // One decision at a time across instances, so a burst yields exactly one burst alert.
        await AdvisoryLocks.LockAsync(connection, tx, AdvisoryLocks.Alerts, cancellationToken);

        await using var recent = new NpgsqlCommand("""
            SELECT count(*) FILTER (WHERE kind = 'image_failed'), count(*) FILTER (WHERE kind = 'failure_burst')
            FROM admin_alerts WHERE created_at > now() - @window
            """, connection, tx);
        recent.Parameters.AddWithValue("window", BurstWindow);
        long failures, bursts;
        await using (var reader = await recent.ExecuteReaderAsync(cancellationToken))
        {
            await reader.ReadAsync(cancellationToken);
            (failures, bursts) = (reader.GetInt64(0), reader.GetInt64(1));
        }

        AlertMessage? alert = null;
        if (failures < BurstThreshold)
            alert = await InsertAsync(connection, tx, AlertKind.ImageFailed, $"{fileName} failed: {error}", imageId, cancellationToken);
        else if (bursts == 0)
            alert = await InsertAsync(connection, tx, AlertKind.FailureBurst,
                $"Many photos are failing: more than {BurstThreshold} in the last {BurstWindow.TotalMinutes:0} minutes. Latest: {fileName}: {error}. " +
                "Further failures in this window are not alerted one by one; see the failed list.", imageId, cancellationToken);
        await tx.CommitAsync(cancellationToken);

        if (alert is not null)
            _ = PostWebhookAsync(alert);
        return alert;
    }

    /// <summary>An alert about the pipeline rather than one photo (a provider down or back): written, announced and sent to the webhook.</summary>
    public async Task<AlertMessage> RaiseAsync(string kind, string message, CancellationToken cancellationToken)
    {
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var tx = await connection.BeginTransactionAsync(cancellationToken);
        var alert = await InsertAsync(connection, tx, kind, message, null, cancellationToken);
        await tx.CommitAsync(cancellationToken);
        _ = PostWebhookAsync(alert);
        return alert;
    }

    private static async Task<AlertMessage> InsertAsync(NpgsqlConnection connection, NpgsqlTransaction tx, string kind, string message, Guid? imageId, CancellationToken cancellationToken)
    {
        await using var cmd = new NpgsqlCommand("""
            WITH alert AS (
                INSERT INTO admin_alerts (kind, message, image_id) VALUES (@kind, @message, @image)
                RETURNING id, created_at)
            SELECT id, created_at, pg_notify('admin_alert', json_build_object('id', id, 'kind', @kind::text, 'message', @message::text, 'imageId', @image::uuid)::text)
            FROM alert
            """, connection, tx);
        cmd.Parameters.AddWithValue("kind", kind);
        cmd.Parameters.AddWithValue("message", message.Length > 2000 ? message[..2000] : message);
        cmd.Parameters.AddWithValue("image", (object?)imageId ?? DBNull.Value);
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return new AlertMessage(reader.GetGuid(0), kind, message, imageId, reader.GetFieldValue<DateTimeOffset>(1));
    }

    /// <summary>Set on a request whose URL must stay out of traces; the tracing setup leaves such requests out.</summary>
    public static readonly HttpRequestOptionsKey<bool> Untraced = new("VehicleImages.Untraced");

    private async Task PostWebhookAsync(AlertMessage alert)
    {
        if (options.Value.WebhookUrl is not { } url)
            return;
        try
        {
            using var client = http.CreateClient(nameof(AlertService));
            client.Timeout = TimeSpan.FromSeconds(10);
            using var request = new HttpRequestMessage(HttpMethod.Post, url)
            {
                Content = JsonContent.Create(new { alert.Id, alert.Kind, alert.Message, alert.ImageId, alert.CreatedAt }),
            };
            // The URL's path is the receiver's secret (Slack-style hooks): no span may record it.
            request.Options.Set(Untraced, true);
            using var response = await client.SendAsync(request);
            if (!response.IsSuccessStatusCode)
                logger.LogWarning("Alert webhook answered {Status}", (int)response.StatusCode);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            // The alert is in the database and on the admin page; the webhook is a courtesy. Its URL
            // usually carries the receiver's secret, so it is never logged (these messages name at most host and port).
            logger.LogWarning("Alert webhook (Alerts__WebhookUrl) could not be reached: {Reason}", e.Message);
        }
    }
}
