using Npgsql;

namespace VehicleImages.Core.Accounts;

/// <summary>
/// Whether an account is an Admin now, read from the database rather than from the claims of a cookie,
/// token or open page, which keep the role they were issued with: a demoted admin loses admin actions
/// at once, wherever the request comes from.
/// </summary>
public sealed class RoleCheck(NpgsqlDataSource db)
{
    public async Task<bool> IsAdminAsync(Guid userId, CancellationToken cancellationToken = default)
    {
        await using var cmd = db.CreateCommand(
            """
            SELECT EXISTS (SELECT 1 FROM asp_net_user_roles ur JOIN asp_net_roles r ON r.id = ur.role_id
                           WHERE ur.user_id = $1 AND r.name = $2)
            """);
        cmd.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = userId });
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = Roles.Admin });
        return (bool)(await cmd.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>Which of <paramref name="userIds"/> are Admins now: one statement for every open admin connection.</summary>
    public async Task<HashSet<Guid>> AdminsAmongAsync(IReadOnlyCollection<Guid> userIds, CancellationToken cancellationToken = default)
    {
        var admins = new HashSet<Guid>();
        if (userIds.Count == 0)
            return admins;
        await using var cmd = db.CreateCommand(
            """
            SELECT ur.user_id FROM asp_net_user_roles ur JOIN asp_net_roles r ON r.id = ur.role_id
            WHERE ur.user_id = ANY($1) AND r.name = $2
            """);
        cmd.Parameters.Add(new NpgsqlParameter<Guid[]> { TypedValue = [.. userIds] });
        cmd.Parameters.Add(new NpgsqlParameter<string> { TypedValue = Roles.Admin });
        await using var reader = await cmd.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
            admins.Add(reader.GetGuid(0));
        return admins;
    }
}
