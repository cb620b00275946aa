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

            // What the foreign key's cascade did: a photo's deletion (its own, its vehicle's, its
            // owner's) takes its attempt history along. A row trigger after the delete, whose name sorts after
            // the foreign keys' cascade triggers ("RI_...") so it fires after them: the cascade to the photo's
            // jobs waits for a completion holding the job row, so the history row that completion
            // inserted is committed and seen here (ADR 015). The completion no longer pays the key check.
            migrationBuilder.Sql("""
                CREATE FUNCTION vi_delete_image_attempts() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    DELETE FROM image_processing_attempts WHERE image_id = OLD.id;
                    RETURN NULL;
                END $$;
                CREATE TRIGGER trg_vehicle_images_attempts_cascade AFTER DELETE ON vehicle_images
                    FOR EACH ROW EXECUTE FUNCTION vi_delete_image_attempts();
                """);
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
