using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace VehicleImages.Migrations.Migrations
{
    /// <inheritdoc />
    public partial class IngestColumns : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "camera_make",
                table: "vehicle_images",
                type: "character varying(200)",
                maxLength: 200,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "camera_model",
                table: "vehicle_images",
                type: "character varying(200)",
                maxLength: 200,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "content_type",
                table: "vehicle_images",
                type: "character varying(40)",
                maxLength: 40,
                nullable: true);

            migrationBuilder.AddColumn<double>(
                name: "exposure_time",
                table: "vehicle_images",
                type: "double precision",
                nullable: true);

            migrationBuilder.AddColumn<double>(
                name: "f_number",
                table: "vehicle_images",
                type: "double precision",
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "file_size",
                table: "vehicle_images",
                type: "bigint",
                nullable: true);

            migrationBuilder.AddColumn<double>(
                name: "focal_length",
                table: "vehicle_images",
                type: "double precision",
                nullable: true);

            migrationBuilder.AddColumn<double>(
                name: "gps_latitude",
                table: "vehicle_images",
                type: "double precision",
                nullable: true);

            migrationBuilder.AddColumn<double>(
                name: "gps_longitude",
                table: "vehicle_images",
                type: "double precision",
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "height",
                table: "vehicle_images",
                type: "integer",
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "iso",
                table: "vehicle_images",
                type: "integer",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "lens_model",
                table: "vehicle_images",
                type: "character varying(200)",
                maxLength: 200,
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "orientation",
                table: "vehicle_images",
                type: "integer",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "sha256",
                table: "vehicle_images",
                type: "character(64)",
                fixedLength: true,
                maxLength: 64,
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "width",
                table: "vehicle_images",
                type: "integer",
                nullable: true);

            migrationBuilder.CreateIndex(
                name: "ix_vehicle_images_sha256",
                table: "vehicle_images",
                column: "sha256");

            migrationBuilder.CreateIndex(
                name: "ix_vehicle_images_vehicle_id_sha256",
                table: "vehicle_images",
                columns: new[] { "vehicle_id", "sha256" },
                unique: true);

            migrationBuilder.AddCheckConstraint(
                name: "ck_vehicle_images_gps",
                table: "vehicle_images",
                sql: "(gps_latitude IS NULL OR gps_latitude BETWEEN -90 AND 90) AND (gps_longitude IS NULL OR gps_longitude BETWEEN -180 AND 180)");

            migrationBuilder.AddCheckConstraint(
                name: "ck_vehicle_images_orientation",
                table: "vehicle_images",
                sql: "orientation IS NULL OR orientation BETWEEN 1 AND 8");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_vehicle_images_sha256",
                table: "vehicle_images");

            migrationBuilder.DropIndex(
                name: "ix_vehicle_images_vehicle_id_sha256",
                table: "vehicle_images");

            migrationBuilder.DropCheckConstraint(
                name: "ck_vehicle_images_gps",
                table: "vehicle_images");

            migrationBuilder.DropCheckConstraint(
                name: "ck_vehicle_images_orientation",
                table: "vehicle_images");

            migrationBuilder.DropColumn(
                name: "camera_make",
                table: "vehicle_images");

            migrationBuilder.DropColumn(
                name: "camera_model",
                table: "vehicle_images");

            migrationBuilder.DropColumn(
                name: "content_type",
                table: "vehicle_images");

            migrationBuilder.DropColumn(
                name: "exposure_time",
                table: "vehicle_images");

            migrationBuilder.DropColumn(
                name: "f_number",
                table: "vehicle_images");

            migrationBuilder.DropColumn(
                name: "file_size",
                table: "vehicle_images");

            migrationBuilder.DropColumn(
                name: "focal_length",
                table: "vehicle_images");

            migrationBuilder.DropColumn(
                name: "gps_latitude",
                table: "vehicle_images");

            migrationBuilder.DropColumn(
                name: "gps_longitude",
                table: "vehicle_images");

            migrationBuilder.DropColumn(
                name: "height",
                table: "vehicle_images");

            migrationBuilder.DropColumn(
                name: "iso",
                table: "vehicle_images");

            migrationBuilder.DropColumn(
                name: "lens_model",
                table: "vehicle_images");

            migrationBuilder.DropColumn(
                name: "orientation",
                table: "vehicle_images");

            migrationBuilder.DropColumn(
                name: "sha256",
                table: "vehicle_images");

            migrationBuilder.DropColumn(
                name: "width",
                table: "vehicle_images");
        }
    }
}
