-- What the attempt history's foreign key cascade did: a photo's deletion (its own, its vehicle's, its
-- owner's) takes its attempt history along. Installed by QueueThirdPass.
CREATE OR REPLACE FUNCTION vi_delete_image_attempts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM image_processing_attempts WHERE image_id = OLD.id;
    RETURN NULL;
END $$;
