using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace VehicleImages.Migrations.Migrations
{
    /// <inheritdoc />
    public partial class QueueThroughputPeers : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_image_processing_jobs_finished",
                table: "image_processing_jobs");

            migrationBuilder.AddCheckConstraint(
                name: "ck_image_processing_jobs_locked",
                table: "image_processing_jobs",
                sql: "(status = 'processing') = (locked_by IS NOT NULL)");

            // Hand-written: the status trigger's old/new join ran as a nested loop over the two
            // transition tables (the planner counts each as one row): n² comparisons per statement,
            // 3,300 for a batch of 58. Without nested loops it hashes them.
            migrationBuilder.Sql("ALTER FUNCTION vi_notify_image_statuses() SET enable_nestloop = off;");

            // New jobs wake the claimers once per statement, with one payload (Sql/vi_notify_jobs.v1.sql).
            migrationBuilder.Sql("""
                DROP TRIGGER trg_image_processing_jobs_notify ON image_processing_jobs;
                DROP FUNCTION vi_notify_job();
                """);
            migrationBuilder.Sql(SqlScripts.Load("vi_notify_jobs.v1"));
            migrationBuilder.Sql(SqlScripts.Load("trg_image_processing_jobs_notify.v2"));
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("""
                DROP TRIGGER trg_image_processing_jobs_notify ON image_processing_jobs;
                DROP FUNCTION vi_notify_jobs();
                """);
            migrationBuilder.Sql(SqlScripts.Load("vi_notify_job.v1"));
            migrationBuilder.Sql(SqlScripts.Load("trg_image_processing_jobs_notify.v1"));

            migrationBuilder.Sql("ALTER FUNCTION vi_notify_image_statuses() RESET enable_nestloop;");

            migrationBuilder.DropCheckConstraint(
                name: "ck_image_processing_jobs_locked",
                table: "image_processing_jobs");

            migrationBuilder.CreateIndex(
                name: "ix_image_processing_jobs_finished",
                table: "image_processing_jobs",
                column: "finished_at",
                filter: "status = 'complete'");
        }
    }
}
