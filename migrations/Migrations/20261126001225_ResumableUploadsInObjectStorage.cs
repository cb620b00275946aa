using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace VehicleImages.Migrations.Migrations
{
    /// <inheritdoc />
    public partial class ResumableUploadsInObjectStorage : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "storage_parts",
                table: "resumable_uploads",
                type: "jsonb",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "storage_upload_id",
                table: "resumable_uploads",
                type: "character varying(1024)",
                maxLength: 1024,
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "storage_parts",
                table: "resumable_uploads");

            migrationBuilder.DropColumn(
                name: "storage_upload_id",
                table: "resumable_uploads");
        }
    }
}
