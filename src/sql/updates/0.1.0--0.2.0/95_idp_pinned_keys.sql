-- An identity provider's signing keys as an administrator pinned them
-- (warden.pin_identity_provider_keys). Console and approver sign-ins are verified in the
-- database against these keys only: warden-mcp's role writes warden.idp_keys (the JWKS it
-- fetched) and so cannot be the one that says which keys an admin's or approver's ID token must
-- be signed with.
CREATE TABLE warden.idp_pinned_keys (
  idp_id    uuid NOT NULL REFERENCES warden.identity_providers (idp_id) ON DELETE CASCADE,
  kid       text NOT NULL,
  jwk       jsonb NOT NULL CHECK (pg_catalog.jsonb_typeof(jwk) = 'object'
                                  AND NOT jwk ?| ARRAY['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']),
  pinned_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
  pinned_by name NOT NULL,
  PRIMARY KEY (idp_id, kid)
);
REVOKE ALL ON warden.idp_pinned_keys FROM PUBLIC;
GRANT SELECT ON warden.idp_pinned_keys TO warden_admin, warden_auditor;
SELECT pg_catalog.pg_extension_config_dump('warden.idp_pinned_keys'::regclass, '');
