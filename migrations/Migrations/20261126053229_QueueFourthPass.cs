using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace VehicleImages.Migrations.Migrations
{
    /// <inheritdoc />
    public partial class QueueFourthPass : Migration
    {
        // The claim's choice of due jobs (JobQueue.ClaimAsync): most urgent first, locked ones skipped, and
        // not those of an owner who has had @calls_per_day provider calls answered today (0: no quota). It
        // runs with bitmap scans and sorts off: on a job table without fresh statistics (a new install, a
        // burst of uploads or a backfill before autovacuum analyzes) the planner estimated a handful of
        // pending jobs and read and sorted every one of them on every claim (7-8 ms at 10,000 pending),
        // where the ix_image_processing_jobs_due index read in order stops after n (0.3-0.6 ms). plpgsql,
        // so its plan is prepared once per connection. ROWS 1 tells the caller's planner the set is small,
        // so it looks the claimed jobs and photos up by primary key instead of hashing whole-table scans.
        private const string DueJobs = """
            CREATE FUNCTION vi_due_jobs(n int, calls_per_day int) RETURNS SETOF bigint LANGUAGE plpgsql
                SET enable_bitmapscan = off SET enable_sort = off ROWS 1 AS $$
            BEGIN
                RETURN QUERY
                SELECT j.id FROM image_processing_jobs j
                WHERE j.status = 'pending' AND j.run_at <= now()
                  AND NOT (SELECT c.paused FROM processing_control c WHERE c.id = 1)
                  AND (calls_per_day <= 0 OR NOT EXISTS (
                        SELECT 1 FROM vehicle_images v JOIN user_daily_usage u ON u.user_id = v.user_id AND u.day = (now() AT TIME ZONE 'UTC')::date
                        WHERE v.id = j.image_id AND u.provider_calls >= calls_per_day))
                ORDER BY j.priority, j.run_at, j.id
                FOR UPDATE OF j SKIP LOCKED
                LIMIT n;
            END $$;
            """;

        // The status events' attempt count: a photo that just completed has no job row any more (the
        // completion deleted it, ADR 017); its count is the completing attempt's, the photo's latest
        // history row. Any other status has its job row (live, failed or cancelled), read as before.
        // One index lookup per event either way.
        internal const string AttemptsFromHistoryWhenComplete = """
            CASE WHEN n.processing_status = 'complete'
                THEN (SELECT a.attempt FROM image_processing_attempts a WHERE a.image_id = n.id ORDER BY a.id DESC LIMIT 1)
                ELSE (SELECT j.attempt FROM image_processing_jobs j WHERE j.image_id = n.id ORDER BY j.id DESC LIMIT 1) END
            """;

        // The count as QueueThroughput and QueueThroughputPeers left it: always the photo's latest job row.
        private const string AttemptsFromJob =
            "(SELECT j.attempt FROM image_processing_jobs j WHERE j.image_id = n.id ORDER BY j.id DESC LIMIT 1)";

        // The status trigger's function, the same in both versions but for how an event counts attempts
        // (and, from StatusEventsFromTheStatements on, a guard run first).
        internal static string StatusTrigger(string attempts, string guard = "") => $$"""
            CREATE OR REPLACE FUNCTION vi_notify_image_statuses() RETURNS trigger LANGUAGE plpgsql SET enable_nestloop = off AS $$
            DECLARE
                payload text;
            BEGIN{{guard}}
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
                                'attempts', coalesce({{attempts}}, 0),
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
            migrationBuilder.Sql(StatusTrigger(AttemptsFromHistoryWhenComplete));
            migrationBuilder.Sql(DueJobs);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            // Completed jobs stay in the history; the job table gets no rows back for them (the explorer of
            // the older version then lists only jobs completed after the downgrade).
            migrationBuilder.Sql(StatusTrigger(AttemptsFromJob));
            migrationBuilder.Sql("DROP FUNCTION vi_due_jobs(int, int);");

            migrationBuilder.DropIndex(
                name: "ix_image_processing_attempts_finished",
                table: "image_processing_attempts");

            migrationBuilder.DropColumn(
                name: "priority",
                table: "image_processing_attempts");
        }
    }
}
