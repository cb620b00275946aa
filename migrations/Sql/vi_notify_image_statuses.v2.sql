-- v1 as QueueThroughputPeers left it (nested loops off: the old/new join of the transition tables ran as a
-- nested loop, n² comparisons per statement; hashed without), written whole. QueueThroughputPeers set it with
-- ALTER FUNCTION; this file restores it in QueueFourthPass's Down.
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
