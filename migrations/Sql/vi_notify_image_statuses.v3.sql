-- The events' attempt count: a photo that just completed has no job row any more (the completion
-- deleted it, ADR 017); its count is the completing attempt's, the photo's latest history row. Any other
-- status has its job row (live, failed or cancelled). One index lookup per event either way.
-- Installed by QueueFourthPass.
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
