-- A job exists for every new pending image, created in the inserting transaction whoever inserts it
-- (the app, a script, psql). Installed by ProcessingQueue.
CREATE OR REPLACE FUNCTION vi_enqueue_image() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO image_processing_jobs (image_id) VALUES (NEW.id)
    ON CONFLICT (image_id) WHERE status IN ('pending', 'processing') DO NOTHING;
    RETURN NEW;
END $$;
