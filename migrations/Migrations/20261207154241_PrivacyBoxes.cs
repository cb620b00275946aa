using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace VehicleImages.Migrations.Migrations
{
    /// <inheritdoc />
    public partial class PrivacyBoxes : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<bool>(
                name: "hide_privacy_boxes",
                table: "vehicles",
                type: "boolean",
                nullable: false,
                defaultValue: true);

            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "privacy_hiding_off_at",
                table: "vehicles",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "image_privacy_boxes",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false, defaultValueSql: "gen_random_uuid()"),
                    image_id = table.Column<Guid>(type: "uuid", nullable: false),
                    kind = table.Column<string>(type: "text", nullable: false),
                    x = table.Column<double>(type: "double precision", nullable: false),
                    y = table.Column<double>(type: "double precision", nullable: false),
                    width = table.Column<double>(type: "double precision", nullable: false),
                    height = table.Column<double>(type: "double precision", nullable: false),
                    source = table.Column<string>(type: "text", nullable: false),
                    confidence = table.Column<float>(type: "real", nullable: true),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false, defaultValueSql: "now()")
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_image_privacy_boxes", x => x.id);
                    table.CheckConstraint("ck_image_privacy_boxes_kind", "kind IN ('plate', 'face')");
                    table.CheckConstraint("ck_image_privacy_boxes_source", "source IN ('ai', 'local', 'user')");
                    table.ForeignKey(
                        name: "fk_image_privacy_boxes_vehicle_images_image_id",
                        column: x => x.image_id,
                        principalTable: "vehicle_images",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "image_privacy_reviews",
                columns: table => new
                {
                    image_id = table.Column<Guid>(type: "uuid", nullable: false),
                    reviewed_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false, defaultValueSql: "now()"),
                    none_visible = table.Column<bool>(type: "boolean", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_image_privacy_reviews", x => x.image_id);
                    table.ForeignKey(
                        name: "fk_image_privacy_reviews_vehicle_images_image_id",
                        column: x => x.image_id,
                        principalTable: "vehicle_images",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "ix_image_privacy_boxes_image_id",
                table: "image_privacy_boxes",
                column: "image_id");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "image_privacy_boxes");

            migrationBuilder.DropTable(
                name: "image_privacy_reviews");

            migrationBuilder.DropColumn(
                name: "hide_privacy_boxes",
                table: "vehicles");

            migrationBuilder.DropColumn(
                name: "privacy_hiding_off_at",
                table: "vehicles");
        }
    }
}
