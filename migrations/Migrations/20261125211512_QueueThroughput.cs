using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace VehicleImages.Migrations.Migrations
{
    /// <inheritdoc />
    public partial class QueueThroughput : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_vehicle_images_needs_work",
                table: "vehicle_images");

            migrationBuilder.AlterTable(
                name: "vehicle_images")
                .Annotation("Npgsql:StorageParameter:fillfactor", 75);

            // Hand-written: EF cannot express triggers. Status events are announced once per statement instead
            // of once per row (Sql/vi_notify_image_statuses.v1.sql says how).
            migrationBuilder.Sql(SqlScripts.Load("vi_notify_image_statuses.v1"));
            migrationBuilder.Sql("""
                DROP TRIGGER trg_vehicle_images_status_insert ON vehicle_images;
                DROP TRIGGER trg_vehicle_images_status_update ON vehicle_images;
                """);
            migrationBuilder.Sql(SqlScripts.Load("trg_vehicle_images_status.v2"));
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("""
                DROP TRIGGER trg_vehicle_images_status_insert ON vehicle_images;
                DROP TRIGGER trg_vehicle_images_status_update ON vehicle_images;
                DROP FUNCTION vi_notify_image_statuses();
                """);
            migrationBuilder.Sql(SqlScripts.Load("trg_vehicle_images_status.v1"));

            migrationBuilder.AlterTable(
                name: "vehicle_images")
                .OldAnnotation("Npgsql:StorageParameter:fillfactor", 75);

            migrationBuilder.CreateIndex(
                name: "ix_vehicle_images_needs_work",
                table: "vehicle_images",
                column: "processing_status",
                filter: "processing_status IN ('pending', 'failed')");
        }
    }
}
