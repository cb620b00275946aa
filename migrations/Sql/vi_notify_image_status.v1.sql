-- Every change of an image's status is announced, from whichever instance made it, one row at a time.
-- Installed by ProcessingQueue.
CREATE OR REPLACE FUNCTION vi_notify_image_status() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('image_status', json_build_object(
        'imageId', NEW.id, 'vehicleId', NEW.vehicle_id, 'userId', NEW.user_id,
        'status', NEW.processing_status)::text);
    RETURN NEW;
END $$;
