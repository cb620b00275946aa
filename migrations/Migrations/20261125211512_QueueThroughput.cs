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

            // Hand-written: EF cannot express triggers. Status events are announced once per
            // statement instead of once per row: a statement that moves 64 photos (a claim, a batch
            // of completions) sends its events as JSON arrays of the same objects as before, each
            // array kept well below NOTIFY's 8000-byte limit (elements are grouped by the running
            // total of their sizes: at most 6000 bytes plus one element of at most ~1,500). The
            // transition tables hold only the statement's own rows. An UPDATE trigger with
            // transition tables cannot name columns, so the WHERE of the query does that filtering.
            migrationBuilder.Sql("""
                CREATE FUNCTION vi_notify_image_statuses() RETURNS trigger LANGUAGE plpgsql AS $$
                DECLARE
                    payload text;
                BEGIN
                    IF TG_OP = 'INSERT' THEN
                        FOR payload IN
                            WITH events AS (
                                SELECT row_number() OVER () AS ord, json_build_object(
                                    'imageId', n.id, 'vehicleId', n.vehicle_id, 'userId', n.user_id, 'status', n.processing_status,
                                    'attempts', 0, 'error', left(n.processing_error, 300))::text AS event
                                FROM new_rows n),
                            sized AS (SELECT ord, event, sum(octet_length(event) + 1) OVER (ORDER BY ord) / 6000 AS chunk FROM events)
                            SELECT '[' || string_agg(event, ',' ORDER BY ord) || ']' FROM sized GROUP BY chunk ORDER BY chunk
                        LOOP
                            PERFORM pg_notify('image_status', payload);
                        END LOOP;
                    ELSE
                        FOR payload IN
                            WITH events AS (
                                SELECT row_number() OVER () AS ord, json_build_object(
                                    'imageId', n.id, 'vehicleId', n.vehicle_id, 'userId', n.user_id, 'status', n.processing_status,
                                    'attempts', coalesce((SELECT j.attempt FROM image_processing_jobs j
                                                          WHERE j.image_id = n.id ORDER BY j.id DESC LIMIT 1), 0),
                                    'error', left(n.processing_error, 300))::text AS event
                                FROM new_rows n JOIN old_rows o ON o.id = n.id
                                WHERE o.processing_status IS DISTINCT FROM n.processing_status),
                            sized AS (SELECT ord, event, sum(octet_length(event) + 1) OVER (ORDER BY ord) / 6000 AS chunk FROM events)
                            SELECT '[' || string_agg(event, ',' ORDER BY ord) || ']' FROM sized GROUP BY chunk ORDER BY chunk
                        LOOP
                            PERFORM pg_notify('image_status', payload);
                        END LOOP;
                    END IF;
                    RETURN NULL;
                END $$;

                DROP TRIGGER trg_vehicle_images_status_insert ON vehicle_images;
                DROP TRIGGER trg_vehicle_images_status_update ON vehicle_images;
                CREATE TRIGGER trg_vehicle_images_status_insert AFTER INSERT ON vehicle_images
                    REFERENCING NEW TABLE AS new_rows
                    FOR EACH STATEMENT EXECUTE FUNCTION vi_notify_image_statuses();
                CREATE TRIGGER trg_vehicle_images_status_update AFTER UPDATE ON vehicle_images
                    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
                    FOR EACH STATEMENT EXECUTE FUNCTION vi_notify_image_statuses();
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql("""
                DROP TRIGGER trg_vehicle_images_status_insert ON vehicle_images;
                DROP TRIGGER trg_vehicle_images_status_update ON vehicle_images;
                DROP FUNCTION vi_notify_image_statuses();
                CREATE TRIGGER trg_vehicle_images_status_insert AFTER INSERT ON vehicle_images
                    FOR EACH ROW EXECUTE FUNCTION vi_notify_image_status();
                CREATE TRIGGER trg_vehicle_images_status_update AFTER UPDATE OF processing_status ON vehicle_images
                    FOR EACH ROW WHEN (OLD.processing_status IS DISTINCT FROM NEW.processing_status)
                    EXECUTE FUNCTION vi_notify_image_status();
                """);

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
