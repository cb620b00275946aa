using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace VehicleImages.Migrations.Migrations
{
    /// <inheritdoc />
    public partial class QueueFourthPass : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<short>(
                name: "priority",
                table: "image_processing_attempts",
                type: "smallint",
                nullable: true);

            migrationBuilder.CreateIndex(
                name: "ix_image_processing_attempts_finished",
                table: "image_processing_attempts",
                column: "finished_at")
                .Annotation("Npgsql:IndexMethod", "brin");

            // Completed jobs leave the job table (ADR 017): the completion deletes the row and records the
            // job's priority on its history row. Those already complete move the same way; one that has no
            // history row of its own (completed before the history existed) gets one from the job row.
            migrationBuilder.Sql("""
                INSERT INTO image_processing_attempts (job_id, image_id, attempt, started_at, finished_at, tier_reached, outcome, priority)
                SELECT j.id, j.image_id, j.attempt, j.updated_at, coalesce(j.finished_at, j.updated_at), 0, 'complete', j.priority
                FROM image_processing_jobs j
                WHERE j.status = 'complete'
                  AND NOT EXISTS (SELECT 1 FROM image_processing_attempts a WHERE a.job_id = j.id AND a.outcome = 'complete');
                UPDATE image_processing_attempts a SET priority = j.priority
                FROM image_processing_jobs j WHERE a.job_id = j.id AND j.status = 'complete' AND a.outcome = 'complete';
                DELETE FROM image_processing_jobs WHERE status = 'complete';
                """);
            // The status events' attempt count of a completed photo comes from its history (the file says why),
            // and the claim picks its jobs through vi_due_jobs (ADR 017).
            migrationBuilder.Sql(SqlScripts.Load("vi_notify_image_statuses.v3"));
            migrationBuilder.Sql(SqlScripts.Load("vi_due_jobs.v1"));
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            // Completed jobs stay in the history; the job table gets no rows back for them (the explorer of
            // the older version then lists only jobs completed after the downgrade).
            migrationBuilder.Sql(SqlScripts.Load("vi_notify_image_statuses.v2"));
            migrationBuilder.Sql("DROP FUNCTION vi_due_jobs(int, int);");

            migrationBuilder.DropIndex(
                name: "ix_image_processing_attempts_finished",
                table: "image_processing_attempts");

            migrationBuilder.DropColumn(
                name: "priority",
                table: "image_processing_attempts");
        }
    }
}
