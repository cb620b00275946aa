using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace VehicleImages.Migrations.Migrations
{
    /// <inheritdoc />
    public partial class ProviderOutages : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_image_processing_jobs_due",
                table: "image_processing_jobs");

            migrationBuilder.AddColumn<short>(
                name: "outage_attempts",
                table: "image_processing_jobs",
                type: "smallint",
                nullable: false,
                defaultValue: (short)0);

            migrationBuilder.AddColumn<string>(
                name: "outage_provider",
                table: "image_processing_jobs",
                type: "character varying(200)",
                maxLength: 200,
                nullable: true);

            migrationBuilder.AddColumn<short>(
                name: "priority",
                table: "image_processing_jobs",
                type: "smallint",
                nullable: false,
                defaultValue: (short)0);

            migrationBuilder.CreateTable(
                name: "analysis_providers",
                columns: table => new
                {
                    name = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    model = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: true),
                    state = table.Column<string>(type: "character varying(20)", maxLength: 20, nullable: false),
                    since = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false, defaultValueSql: "now()"),
                    last_error = table.Column<string>(type: "text", nullable: true),
                    next_probe_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false, defaultValueSql: "now()"),
                    updated_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false, defaultValueSql: "now()")
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_analysis_providers", x => x.name);
                    table.CheckConstraint("ck_analysis_providers_state", "state IN ('available', 'unavailable')");
                });

            migrationBuilder.CreateIndex(
                name: "ix_image_processing_jobs_due",
                table: "image_processing_jobs",
                columns: new[] { "priority", "run_at", "id" },
                filter: "status = 'pending'");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "analysis_providers");

            migrationBuilder.DropIndex(
                name: "ix_image_processing_jobs_due",
                table: "image_processing_jobs");

            migrationBuilder.DropColumn(
                name: "outage_attempts",
                table: "image_processing_jobs");

            migrationBuilder.DropColumn(
                name: "outage_provider",
                table: "image_processing_jobs");

            migrationBuilder.DropColumn(
                name: "priority",
                table: "image_processing_jobs");

            migrationBuilder.CreateIndex(
                name: "ix_image_processing_jobs_due",
                table: "image_processing_jobs",
                columns: new[] { "run_at", "id" },
                filter: "status = 'pending'");
        }
    }
}
