-- 0.2.0: every token lists the tokens above it, so that a decision can see a revoked ancestor.
--
-- 0.1.0 ordered delegation against revocation with FOR SHARE row locks, which let an issuer or
-- the proxy hold a kill off by leaving a transaction open. Now nothing takes a lock that a
-- revocation needs; instead a token delegated from a token revoked meanwhile is refused at its
-- first use because its ancestor's revocation is visible.
ALTER TABLE warden.tokens ADD COLUMN ancestor_tokens uuid[] NOT NULL DEFAULT '{}';
COMMENT ON COLUMN warden.tokens.ancestor_tokens IS 'Tokens above this one, root first.';
WITH RECURSIVE up AS (
  SELECT t.token_id, ARRAY[]::uuid[] AS ancestors FROM warden.tokens t WHERE t.parent_id IS NULL
  UNION ALL
  SELECT c.token_id, up.ancestors || c.parent_id FROM warden.tokens c JOIN up ON c.parent_id = up.token_id
)
UPDATE warden.tokens t SET ancestor_tokens = up.ancestors FROM up
WHERE up.token_id = t.token_id AND cardinality(up.ancestors) > 0;
