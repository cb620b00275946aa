-- The best photo of a near-duplicate stack, by the contract's one ranking ("The best photo"; the same order as
-- VehicleImages.Core/Listings/PhotoRanking.cs): the person's pick; the higher tier 1 quality_score; the sharper (focus);
-- the better exposed (exposure, 0 best); more pixels; the earlier taken; the earlier stored; then the id.
CREATE OR REPLACE FUNCTION vi_stack_best(p_stack uuid) RETURNS uuid
LANGUAGE sql STABLE AS $$
  SELECT v.id
  FROM image_stack_members m
  JOIN image_stacks s ON s.id = m.stack_id
  JOIN vehicle_images v ON v.id = m.image_id
  LEFT JOIN image_embeddings e ON e.image_id = v.id
  WHERE m.stack_id = p_stack
  ORDER BY (s.picked_image_id = v.id) IS TRUE DESC,
           coalesce(CASE WHEN jsonb_typeof(v.ai_scan_metadata->'tier_1_analysis'->'quality_score') = 'number'
                         THEN (v.ai_scan_metadata->'tier_1_analysis'->>'quality_score')::numeric::int END, 0) DESC,
           coalesce(e.focus, 0) DESC,
           e.exposure ASC NULLS LAST,
           coalesce(v.width, 0)::bigint * coalesce(v.height, 0) DESC,
           v.taken_at ASC NULLS LAST,
           v.created_at ASC,
           v.id ASC
  LIMIT 1
$$;
