-- Events as the status trigger sends them: one NOTIFY per ~6,000 bytes of the statement's events, a JSON
-- array in the given order. Marks the statement as announced for the trigger that fires at its end.
-- Callers must update vehicle_images in the same statement (even zero rows: the statement trigger fires
-- anyway and clears the mark), so the mark never outlives its statement. Installed by
-- StatusEventsFromTheStatements (ADR 019).
CREATE OR REPLACE FUNCTION vi_announce_statuses(events text[]) RETURNS int LANGUAGE plpgsql AS $$
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
