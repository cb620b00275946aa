using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace VehicleImages.Migrations.Migrations
{
    /// <inheritdoc />
    public partial class QueueFourthPass : Migration
    {
        // The status events' attempt count: a photo that just completed has no job row any more (the
        // completion deleted it, ADR 017); its count is the completing attempt's, the photo's latest
        // history row. Any other status has its job row (live, failed or cancelled), read as before.
        // One index lookup per event either way.
        private const string StatusTrigger = """
            CREATE OR REPLACE FUNCTION vi_notify_image_statuses() RETURNS trigger LANGUAGE plpgsql SET enable_nestloop = off AS $$
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
                                'attempts', coalesce(CASE WHEN n.processing_status = 'complete'
                                    THEN (SELECT a.attempt FROM image_processing_attempts a WHERE a.image_id = n.id ORDER BY a.id DESC LIMIT 1)
                                    ELSE (SELECT j.attempt FROM image_processing_jobs j WHERE j.image_id = n.id ORDER BY j.id DESC LIMIT 1) END, 0),
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
            """;

        // The function as QueueThroughput and QueueThroughputPeers left it.
        private const string OldStatusTrigger = """
            CREATE OR REPLACE FUNCTION vi_notify_image_statuses() RETURNS trigger LANGUAGE plpgsql SET enable_nestloop = off AS $$
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
                                'attempts', coalesce((SELECT j.attempt FROM image_processing_jobs j WHERE j.image_id = n.id ORDER BY j.id DESC LIMIT 1), 0),
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
            """;

        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<short>(
                name: "priority",
                table: "image_processing_attempts",
                type: "smallint",
                nullable: true);

            migrationBuilder.CreateIndex(
                name: "ix_image_processing_attempts_finished",
                table: "image_processing_attempts",
                column: "finished_at")
                .Annotation("Npgsql:IndexMethod", "brin");

            // Completed jobs leave the job table (ADR 017): the completion deletes the row and records the
            // job's priority on its history row. Those already complete move the same way; one that has no
            // history row of its own (completed before the history existed) gets one from the job row.
            migrationBuilder.Sql("""
                INSERT INTO image_processing_attempts (job_id, image_id, attempt, started_at, finished_at, tier_reached, outcome, priority)
                SELECT j.id, j.image_id, j.attempt, j.updated_at, coalesce(j.finished_at, j.updated_at), 0, 'complete', j.priority
                FROM image_processing_jobs j
                WHERE j.status = 'complete'
                  AND NOT EXISTS (SELECT 1 FROM image_processing_attempts a WHERE a.job_id = j.id AND a.outcome = 'complete');
                UPDATE image_processing_attempts a SET priority = j.priority
                FROM image_processing_jobs j WHERE a.job_id = j.id AND j.status = 'complete' AND a.outcome = 'complete';
                DELETE FROM image_processing_jobs WHERE status = 'complete';
                """);
            migrationBuilder.Sql(StatusTrigger);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            // Completed jobs stay in the history; the job table gets no rows back for them (the explorer of
            // the older version then lists only jobs completed after the downgrade).
            migrationBuilder.Sql(OldStatusTrigger);

            migrationBuilder.DropIndex(
                name: "ix_image_processing_attempts_finished",
                table: "image_processing_attempts");

            migrationBuilder.DropColumn(
                name: "priority",
                table: "image_processing_attempts");
        }
    }
}
