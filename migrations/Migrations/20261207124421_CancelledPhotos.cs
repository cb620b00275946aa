using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace VehicleImages.Migrations.Migrations
{
    /// <inheritdoc />
    public partial class CancelledPhotos : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropCheckConstraint(
                name: "ck_vehicle_images_processing_status",
                table: "vehicle_images");

            migrationBuilder.AddCheckConstraint(
                name: "ck_vehicle_images_processing_status",
                table: "vehicle_images",
                sql: "processing_status IN ('pending', 'processing', 'complete', 'failed', 'cancelled')");

            // Photos an admin cancelled before this status existed read "failed" with the cancel reason.
            migrationBuilder.Sql("""
                UPDATE vehicle_images SET processing_status = 'cancelled'
                WHERE processing_status = 'failed' AND processing_error = 'cancelled by an administrator'
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("UPDATE vehicle_images SET processing_status = 'failed' WHERE processing_status = 'cancelled'");

            migrationBuilder.DropCheckConstraint(
                name: "ck_vehicle_images_processing_status",
                table: "vehicle_images");

            migrationBuilder.AddCheckConstraint(
                name: "ck_vehicle_images_processing_status",
                table: "vehicle_images",
                sql: "processing_status IN ('pending', 'processing', 'complete', 'failed')");
        }
    }
}
