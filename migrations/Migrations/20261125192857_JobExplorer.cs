using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace VehicleImages.Migrations.Migrations
{
    /// <inheritdoc />
    public partial class JobExplorer : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropCheckConstraint(
                name: "ck_image_processing_jobs_status",
                table: "image_processing_jobs");

            migrationBuilder.AddColumn<int>(
                name: "completion_tokens",
                table: "image_processing_attempts",
                type: "integer",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "model",
                table: "image_processing_attempts",
                type: "character varying(200)",
                maxLength: 200,
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "prompt_tokens",
                table: "image_processing_attempts",
                type: "integer",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "provider",
                table: "image_processing_attempts",
                type: "character varying(200)",
                maxLength: 200,
                nullable: true);

            migrationBuilder.AddCheckConstraint(
                name: "ck_image_processing_jobs_status",
                table: "image_processing_jobs",
                sql: "status IN ('pending', 'processing', 'complete', 'failed', 'cancelled')");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropCheckConstraint(
                name: "ck_image_processing_jobs_status",
                table: "image_processing_jobs");

            migrationBuilder.DropColumn(
                name: "completion_tokens",
                table: "image_processing_attempts");

            migrationBuilder.DropColumn(
                name: "model",
                table: "image_processing_attempts");

            migrationBuilder.DropColumn(
                name: "prompt_tokens",
                table: "image_processing_attempts");

            migrationBuilder.DropColumn(
                name: "provider",
                table: "image_processing_attempts");

            migrationBuilder.AddCheckConstraint(
                name: "ck_image_processing_jobs_status",
                table: "image_processing_jobs",
                sql: "status IN ('pending', 'processing', 'complete', 'failed')");
        }
    }
}
