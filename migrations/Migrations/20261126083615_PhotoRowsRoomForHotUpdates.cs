using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace VehicleImages.Migrations.Migrations
{
    /// <summary>
    /// Photos' pages filled to 35 % instead of 75 %, so a claim's and a completion's status updates of a
    /// batch of photos stay HOT (ADR 019). Existing pages keep their rows; new rows and the pages they
    /// fill follow the new setting.
    /// </summary>
    public partial class PhotoRowsRoomForHotUpdates : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AlterTable(
                name: "vehicle_images")
                .Annotation("Npgsql:StorageParameter:fillfactor", 35)
                .OldAnnotation("Npgsql:StorageParameter:fillfactor", 75);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AlterTable(
                name: "vehicle_images")
                .Annotation("Npgsql:StorageParameter:fillfactor", 75)
                .OldAnnotation("Npgsql:StorageParameter:fillfactor", 35);
        }
    }
}
