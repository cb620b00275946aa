using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace VehicleImages.Migrations.Migrations
{
    /// <summary>
    /// The claim and the completion announce their photos' status changes themselves (ADR 019): they have
    /// every field of the event in hand (the photo's ids from their update, the attempt from the job), where
    /// the status trigger joined its transition tables and looked each photo's attempt count up again, a
    /// fifth of the queue's drain time. The trigger stays for every other status change; a statement that
    /// announced its own changes sets vi.status_events, which the trigger clears and stands down for.
    /// </summary>
    public partial class StatusEventsFromTheStatements : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql(SqlScripts.Load("vi_announce_statuses.v1"));
            migrationBuilder.Sql(SqlScripts.Load("vi_notify_image_statuses.v4"));
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql(SqlScripts.Load("vi_notify_image_statuses.v3"));
            migrationBuilder.Sql("DROP FUNCTION vi_announce_statuses(text[]);");
        }
    }
}
