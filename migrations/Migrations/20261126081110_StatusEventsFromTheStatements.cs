using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace VehicleImages.Migrations.Migrations
{
    /// <summary>
    /// The claim and the completion announce their photos' status changes themselves (ADR 019): they have
    /// every field of the event in hand (the photo's ids from their update, the attempt from the job), where
    /// the status trigger joined its transition tables and looked each photo's attempt count up again, a
    /// fifth of the queue's drain time. The trigger stays for every other status change; a statement that
    /// announced its own changes sets vi.status_events, which the trigger clears and stands down for.
    /// </summary>
    public partial class StatusEventsFromTheStatements : Migration
    {
        // Events as the status trigger sends them: one NOTIFY per ~6,000 bytes of the statement's events,
        // a JSON array in the given order. Marks the statement as announced for the trigger that fires at
        // its end. Callers must update vehicle_images in the same statement (even zero rows: the statement
        // trigger fires anyway and clears the mark), so the mark never outlives its statement.
        private const string Announce = """
            CREATE FUNCTION vi_announce_statuses(events text[]) RETURNS int LANGUAGE plpgsql AS $$
            DECLARE
                payload text;
                sent int := 0;
            BEGIN
                PERFORM set_config('vi.status_events', 'announced', true);
                FOR payload IN
                    SELECT '[' || string_agg(event, ',' ORDER BY ord) || ']'
                    FROM (SELECT ord, event, sum(octet_length(event) + 1) OVER (ORDER BY ord) / 6000 AS chunk
                          FROM unnest(events) WITH ORDINALITY AS e(event, ord)) sized
                    GROUP BY chunk ORDER BY chunk
                LOOP
                    PERFORM pg_notify('image_status', payload);
                    sent := sent + 1;
                END LOOP;
                RETURN sent;
            END $$;
            """;

        // The trigger's guard: a statement that announced its own changes (vi_announce_statuses), or made
        // none (ClaimStatements.SaveTierAsync), is passed by; the mark is cleared for the next statement.
        private const string Guard = """

                IF current_setting('vi.status_events', true) = 'announced' THEN
                    PERFORM set_config('vi.status_events', '', true);
                    RETURN NULL;
                END IF;
            """;

        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql(Announce);
            migrationBuilder.Sql(QueueFourthPass.StatusTrigger(QueueFourthPass.AttemptsFromHistoryWhenComplete, Guard));
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql(QueueFourthPass.StatusTrigger(QueueFourthPass.AttemptsFromHistoryWhenComplete));
            migrationBuilder.Sql("DROP FUNCTION vi_announce_statuses(text[]);");
        }
    }
}
