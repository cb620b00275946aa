-- The status triggers, once per statement with its transition tables (vi_notify_image_statuses).
-- An UPDATE trigger with transition tables cannot name columns, so the function's query filters.
-- Installed by QueueThroughput.
CREATE TRIGGER trg_vehicle_images_status_insert AFTER INSERT ON vehicle_images
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION vi_notify_image_statuses();
CREATE TRIGGER trg_vehicle_images_status_update AFTER UPDATE ON vehicle_images
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION vi_notify_image_statuses();
