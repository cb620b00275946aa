using System;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace VehicleImages.Migrations.Migrations
{
    /// <inheritdoc />
    public partial class ProcessingQueue : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "image_processing_attempts",
                columns: table => new
                {
                    id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    job_id = table.Column<long>(type: "bigint", nullable: false),
                    image_id = table.Column<Guid>(type: "uuid", nullable: false),
                    attempt = table.Column<int>(type: "integer", nullable: false),
                    started_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    finished_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    tier_reached = table.Column<int>(type: "integer", nullable: false),
                    outcome = table.Column<string>(type: "character varying(20)", maxLength: 20, nullable: false),
                    error = table.Column<string>(type: "text", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_image_processing_attempts", x => x.id);
                    table.ForeignKey(
                        name: "fk_image_processing_attempts_vehicle_images_image_id",
                        column: x => x.image_id,
                        principalTable: "vehicle_images",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "image_processing_jobs",
                columns: table => new
                {
                    id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    image_id = table.Column<Guid>(type: "uuid", nullable: false),
                    status = table.Column<string>(type: "text", nullable: false, defaultValue: "pending"),
                    attempt = table.Column<int>(type: "integer", nullable: false, defaultValue: 0),
                    run_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false, defaultValueSql: "now()"),
                    locked_by = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: true),
                    lease_until = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    last_error = table.Column<string>(type: "text", nullable: true),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false, defaultValueSql: "now()"),
                    updated_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false, defaultValueSql: "now()"),
                    finished_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_image_processing_jobs", x => x.id);
                    table.CheckConstraint("ck_image_processing_jobs_status", "status IN ('pending', 'processing', 'complete', 'failed')");
                    table.ForeignKey(
                        name: "fk_image_processing_jobs_vehicle_images_image_id",
                        column: x => x.image_id,
                        principalTable: "vehicle_images",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "processing_control",
                columns: table => new
                {
                    id = table.Column<int>(type: "integer", nullable: false),
                    paused = table.Column<bool>(type: "boolean", nullable: false),
                    updated_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false, defaultValueSql: "now()")
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_processing_control", x => x.id);
                    table.CheckConstraint("ck_processing_control_single_row", "id = 1");
                });

            migrationBuilder.InsertData(
                table: "processing_control",
                columns: new[] { "id", "paused", "updated_at" },
                values: new object[] { 1, false, new DateTimeOffset(new DateTime(1970, 1, 1, 0, 0, 0, 0, DateTimeKind.Unspecified), new TimeSpan(0, 0, 0, 0, 0)) });

            migrationBuilder.CreateIndex(
                name: "ix_image_processing_attempts_image_id_id",
                table: "image_processing_attempts",
                columns: new[] { "image_id", "id" });

            migrationBuilder.CreateIndex(
                name: "ix_image_processing_jobs_due",
                table: "image_processing_jobs",
                columns: new[] { "run_at", "id" },
                filter: "status = 'pending'");

            migrationBuilder.CreateIndex(
                name: "ix_image_processing_jobs_finished",
                table: "image_processing_jobs",
                column: "finished_at",
                filter: "status = 'complete'");

            migrationBuilder.CreateIndex(
                name: "ix_image_processing_jobs_image_id_id",
                table: "image_processing_jobs",
                columns: new[] { "image_id", "id" });

            migrationBuilder.CreateIndex(
                name: "ix_image_processing_jobs_lease",
                table: "image_processing_jobs",
                column: "lease_until",
                filter: "status = 'processing'");

            migrationBuilder.CreateIndex(
                name: "ux_image_processing_jobs_live",
                table: "image_processing_jobs",
                column: "image_id",
                unique: true,
                filter: "status IN ('pending', 'processing')");

            // Hand-written: EF cannot express triggers. A job exists for every new pending image, and every
            // new job wakes the workers of every instance; every change of an image's status is announced.
            migrationBuilder.Sql(SqlScripts.Load("vi_enqueue_image.v1"));
            migrationBuilder.Sql(SqlScripts.Load("trg_vehicle_images_enqueue.v1"));
            migrationBuilder.Sql(SqlScripts.Load("vi_notify_job.v1"));
            migrationBuilder.Sql(SqlScripts.Load("trg_image_processing_jobs_notify.v1"));
            migrationBuilder.Sql(SqlScripts.Load("vi_notify_image_status.v1"));
            migrationBuilder.Sql(SqlScripts.Load("trg_vehicle_images_status.v1"));
            migrationBuilder.Sql("""
                -- Images that existed before the queue: queued like any other.
                INSERT INTO image_processing_jobs (image_id)
                SELECT id FROM vehicle_images WHERE processing_status IN ('pending', 'processing')
                ON CONFLICT (image_id) WHERE status IN ('pending', 'processing') DO NOTHING;
                UPDATE vehicle_images SET processing_status = 'pending' WHERE processing_status = 'processing';
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("""
                DROP TRIGGER IF EXISTS trg_vehicle_images_status_update ON vehicle_images;
                DROP TRIGGER IF EXISTS trg_vehicle_images_status_insert ON vehicle_images;
                DROP TRIGGER IF EXISTS trg_image_processing_jobs_notify ON image_processing_jobs;
                DROP TRIGGER IF EXISTS trg_vehicle_images_enqueue ON vehicle_images;
                DROP FUNCTION IF EXISTS vi_notify_image_status();
                DROP FUNCTION IF EXISTS vi_notify_job();
                DROP FUNCTION IF EXISTS vi_enqueue_image();
                """);

            migrationBuilder.DropTable(
                name: "image_processing_attempts");

            migrationBuilder.DropTable(
                name: "image_processing_jobs");

            migrationBuilder.DropTable(
                name: "processing_control");
        }
    }
}
