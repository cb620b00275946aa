using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace VehicleImages.Migrations.Migrations
{
    /// <inheritdoc />
    public partial class PrivacyScansAndBlurs : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "image_privacy_blurs",
                columns: table => new
                {
                    image_id = table.Column<Guid>(type: "uuid", nullable: false),
                    box_hash = table.Column<string>(type: "text", nullable: false),
                    variants = table.Column<string>(type: "jsonb", nullable: false),
                    updated_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false, defaultValueSql: "now()")
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_image_privacy_blurs", x => x.image_id);
                    table.ForeignKey(
                        name: "fk_image_privacy_blurs_vehicle_images_image_id",
                        column: x => x.image_id,
                        principalTable: "vehicle_images",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "image_privacy_scans",
                columns: table => new
                {
                    image_id = table.Column<Guid>(type: "uuid", nullable: false),
                    scanned_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false, defaultValueSql: "now()"),
                    found = table.Column<int>(type: "integer", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_image_privacy_scans", x => x.image_id);
                    table.ForeignKey(
                        name: "fk_image_privacy_scans_vehicle_images_image_id",
                        column: x => x.image_id,
                        principalTable: "vehicle_images",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "image_privacy_blurs");

            migrationBuilder.DropTable(
                name: "image_privacy_scans");
        }
    }
}
