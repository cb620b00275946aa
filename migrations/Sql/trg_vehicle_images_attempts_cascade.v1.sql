-- A row trigger after the delete, whose name sorts after the foreign keys' cascade triggers ("RI_...") so
-- it fires after them: the cascade to the photo's jobs waits for a completion holding the job row, so the
-- history row that completion inserted is committed and seen here (ADR 015). Installed by QueueThirdPass.
CREATE TRIGGER trg_vehicle_images_attempts_cascade AFTER DELETE ON vehicle_images
    FOR EACH ROW EXECUTE FUNCTION vi_delete_image_attempts();
