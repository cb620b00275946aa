-- The near-duplicate stack a photo is in, when that stack holds two photos or more (a stack of one is no stack).
CREATE OR REPLACE FUNCTION vi_image_stack(p_image uuid) RETURNS uuid
LANGUAGE sql STABLE AS $$
  SELECT m.stack_id FROM image_stack_members m
  WHERE m.image_id = p_image AND m.stack_id IS NOT NULL
    AND (SELECT count(*) FROM image_stack_members o WHERE o.stack_id = m.stack_id) > 1
$$;
