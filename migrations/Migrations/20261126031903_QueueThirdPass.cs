using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace VehicleImages.Migrations.Migrations
{
    /// <inheritdoc />
    public partial class QueueThirdPass : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropForeignKey(
                name: "fk_image_processing_attempts_vehicle_images_image_id",
                table: "image_processing_attempts");

            // What the foreign key's cascade did, by a trigger that fires after the cascades (ADR 015; the
            // files say why). The completion no longer pays the key check.
            migrationBuilder.Sql(SqlScripts.Load("vi_delete_image_attempts.v1"));
            migrationBuilder.Sql(SqlScripts.Load("trg_vehicle_images_attempts_cascade.v1"));
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("""
                DROP TRIGGER trg_vehicle_images_attempts_cascade ON vehicle_images;
                DROP FUNCTION vi_delete_image_attempts();
                DELETE FROM image_processing_attempts a WHERE NOT EXISTS (SELECT 1 FROM vehicle_images v WHERE v.id = a.image_id);
                """);
            migrationBuilder.AddForeignKey(
                name: "fk_image_processing_attempts_vehicle_images_image_id",
                table: "image_processing_attempts",
                column: "image_id",
                principalTable: "vehicle_images",
                principalColumn: "id",
                onDelete: ReferentialAction.Cascade);
        }
    }
}
