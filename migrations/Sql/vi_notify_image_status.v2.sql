-- Status events carry what a badge needs (attempts, the reason of a failure, cut short to stay far
-- below NOTIFY's 8000-byte limit), so no listener has to query per event. Installed by StatusEventPayload.
CREATE OR REPLACE FUNCTION vi_notify_image_status() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('image_status', json_build_object(
        'imageId', NEW.id, 'vehicleId', NEW.vehicle_id, 'userId', NEW.user_id,
        'status', NEW.processing_status,
        'attempts', coalesce((SELECT j.attempt FROM image_processing_jobs j
                              WHERE j.image_id = NEW.id ORDER BY j.id DESC LIMIT 1), 0),
        'error', left(NEW.processing_error, 300))::text);
    RETURN NEW;
END $$;
