-- An approver signs in to the approval page through the identity provider (the same provider,
-- ID-token checks and admission rules as the sign-in of an agent's human). warden-mcp runs the
-- browser's leg (redirect, code exchange with PKCE, ID-token signature); the database decides:
-- which sign-in this callback belongs to, whether the browser finishing it is the one that
-- started it, whether the token holds, and who the person is. An approver must already be a
-- human warden knows from that provider (no just-in-time creation here); which approvals they
-- may decide is still each grant's "approvers" list.
--
-- What the gateway can do with this. The database does not believe the gateway about the ID
-- token: it verifies the token's signature itself, against the keys an administrator pinned for
-- the provider (warden.pin_identity_provider_keys; not the JWKS the gateway fetched and
-- stored), and reads the claims from the token. The nonce is the database's, one per sign-in,
-- and the sign-in is single use, so an ID token seen once cannot open a second session; and the
-- provider is asked for a login now (max_age 0, auth_time checked), so a person's standing
-- session at the provider is not enough either. A provider without pinned keys opens no
-- approver or console session. What a gateway host that lies can still do: use a login a
-- person makes through it while it is compromised (a console, approver or agent sign-in: it
-- serves those pages and could send the person to the provider with a nonce of its own). Where
-- even that is too much for approvals, keep approvers on their own database logins
-- (warden.approver_session()).

-- The same sign-in opens a console session (issue 16, console.sql) when next is a console page
-- (/console or /console/<page>): then the person need not be a human warden knows, but the
-- groups of their ID token must map to a console role (warden.map_group), and the provider is
-- also asked for the groups scope (its option groups_scope, default "groups"; "" for none).

-- The redirect to the provider. next: the approval page to return to (the list or one
-- approval), or a console page; nothing else. binding: a secret warden-mcp puts in a cookie of the browser that
-- asks (only its hash is kept). idp NULL picks the only provider. Returns {sign_in_id, idp,
-- idp_state, idp_nonce, idp_code_challenge, idp_max_age}. Open to anyone who reaches the page, so bounded:
-- at most 10,000 unfinished sign-ins of 10 minutes each.
CREATE OR REPLACE FUNCTION warden.begin_approver_sign_in(idp text, next text, binding text)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  p warden.identity_providers;
  sid uuid := gen_random_uuid();
  idp_state text := warden._random_secret(32::int);
  nonce text := warden._random_secret(32::int);
  verifier text := warden._random_secret(32::int);
BEGIN
  IF binding IS NULL OR length(binding) NOT BETWEEN 32 AND 200 THEN
    RAISE EXCEPTION 'invalid_request: the browser binding must be 32 to 200 characters' USING ERRCODE = 'WA400';
  END IF;
  IF next IS NULL OR (next !~ '^/approvals(/[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})?$'
                      AND next !~ '^/console(/[a-z]{1,20})?$') THEN
    RAISE EXCEPTION 'invalid_request: next must be an approval or console page' USING ERRCODE = 'WA400';
  END IF;
  IF idp IS NULL THEN
    IF (SELECT count(*) FROM warden.identity_providers) <> 1 THEN
      RAISE EXCEPTION 'invalid_request: name the identity provider' USING ERRCODE = 'WA400';
    END IF;
    SELECT * INTO p FROM warden.identity_providers ip;
  ELSE
    SELECT * INTO p FROM warden.identity_providers ip WHERE ip.name = begin_approver_sign_in.idp;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'invalid_request: unknown identity provider' USING ERRCODE = 'WA400';
    END IF;
  END IF;
  DELETE FROM warden.approver_sign_ins s WHERE s.expires_at < pg_catalog.now() - interval '1 hour';
  IF (SELECT count(*) FROM warden.approver_sign_ins s
      WHERE s.finished_at IS NULL AND s.expires_at > pg_catalog.now()) >= 10000 THEN
    RAISE EXCEPTION 'temporarily_unavailable: too many sign-ins are in progress; try again in a few minutes'
      USING ERRCODE = 'WA503';
  END IF;
  INSERT INTO warden.approver_sign_ins (sign_in_id, idp_id, idp_state_hash, idp_nonce_hash, idp_verifier,
                                        binding_hash, next, expires_at)
  VALUES (sid, p.idp_id, warden._secret_hash(idp_state::text), warden._secret_hash(nonce::text),
          warden._vault_wrap_text('sign-in'::text, sid::text, verifier::text),
          warden._secret_hash(binding::text), next, pg_catalog.now() + interval '10 minutes');
  -- idp_max_age 0: the provider must have the person log in now (OIDC Core max_age), and say
  -- when in auth_time, which complete_approver_sign_in checks. A provider session alone (a
  -- silent prompt=none round trip a lying gateway could start) opens nothing.
  RETURN jsonb_build_object('sign_in_id', sid, 'idp', p.name, 'idp_state', idp_state, 'idp_nonce', nonce,
                            'idp_code_challenge', warden._base64url(sha256(convert_to(verifier, 'UTF8'))),
                            'idp_max_age', 0)
         || CASE WHEN next LIKE '/console%' AND coalesce(p.options->>'groups_scope', 'groups') <> ''
                 THEN jsonb_build_object('idp_extra_scope', coalesce(p.options->>'groups_scope', 'groups'))
                 ELSE '{}'::jsonb END;
END
$$;
REVOKE ALL ON FUNCTION warden.begin_approver_sign_in(text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.begin_approver_sign_in(text, text, text) TO warden_proxy;

-- The provider sent the browser back; warden-mcp redeemed the code and passes the ID token it
-- got (id_token), having verified it with the keys it fetched (or says why it could not:
-- refusal_by_gateway). Single use: any outcome ends the sign-in. Refused when the browser's
-- binding differs (a callback URL replayed into another browser); when the provider has no
-- pinned keys (keys_not_pinned) or the token's signature does not verify with one of them
-- (id_token_not_verified_by_database: unknown_kid, bad_signature, ...); when the token's claims
-- fail warden._id_token_refusal or warden._idp_admission, or its auth_time is missing or before
-- the sign-in began (not_a_fresh_login: the person did not log in for this sign-in); or when the person is not a human of
-- this provider or is offboarded: {error: 'access_denied', error_description}, audited as
-- approver_sign_in_refused. Otherwise a one-hour approver session (only its hash kept):
-- {session, approver, next, expires_at}, audited as approver_signed_in. For a console page: the
-- person's groups must map to a console role (else refused: no_console_role); an eight-hour
-- console session {session, approver, console_role, next, expires_at}, audited as
-- console_signed_in.
CREATE OR REPLACE FUNCTION warden.complete_approver_sign_in(idp_state text, binding text, id_token text,
                                                           refusal_by_gateway text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  r warden.approver_sign_ins;
  p warden.identity_providers;
  refusal text;
  h record;
  revoked_subject text;
  secret text;
  expires timestamptz := pg_catalog.now() + interval '1 hour';
  console record;
  for_console boolean;
  claims jsonb;
  verified jsonb;
BEGIN
  SELECT * INTO r FROM warden.approver_sign_ins s
  WHERE s.idp_state_hash = warden._secret_hash(coalesce(idp_state, '')::text) FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'invalid_request: unknown sign-in' USING ERRCODE = 'WA400', HINT = 'Start again from the approval page.';
  END IF;
  IF r.finished_at IS NOT NULL THEN
    RAISE EXCEPTION 'invalid_request: this sign-in was already used' USING ERRCODE = 'WA400';
  END IF;
  IF r.expires_at <= pg_catalog.now() THEN
    RAISE EXCEPTION 'invalid_request: the sign-in expired' USING ERRCODE = 'WA400', HINT = 'Start again from the approval page.';
  END IF;
  UPDATE warden.approver_sign_ins s SET finished_at = pg_catalog.now() WHERE s.sign_in_id = r.sign_in_id;
  SELECT * INTO p FROM warden.identity_providers ip WHERE ip.idp_id = r.idp_id;
  refusal := CASE
    WHEN NOT warden._equal_in_constant_time(warden._secret_hash(coalesce(binding, '')::text), r.binding_hash)
      THEN 'another_browser'
    WHEN refusal_by_gateway IS NOT NULL THEN left('id_token_not_verified: ' || refusal_by_gateway, 300)
  END;
  IF refusal IS NULL THEN
    verified := warden._pinned_id_token_claims(p, id_token::text);
    IF verified ? 'refusal' THEN
      refusal := verified->>'refusal';
    ELSE
      claims := verified->'claims';
      refusal := coalesce(warden._id_token_refusal(p, claims, r.idp_nonce_hash),
                          CASE WHEN jsonb_typeof(claims->'auth_time') IS DISTINCT FROM 'number'
                                    OR (claims->>'auth_time')::numeric < extract(epoch FROM r.created_at) - 60
                               THEN 'not_a_fresh_login' END,
                          warden._idp_admission(p, claims));
    END IF;
  END IF;
  for_console := r.next LIKE '/console%';
  IF refusal IS NULL AND for_console AND
     warden._console_person_revoked(p.idp_id, claims->>(p.options->>'subject_claim')) THEN
    refusal := 'human_revoked';
    revoked_subject := claims->>(p.options->>'subject_claim');
  ELSIF refusal IS NULL AND for_console THEN
    SELECT * INTO console FROM warden._open_console_session(p, claims);
    IF console.session IS NULL THEN
      refusal := 'no_console_role';
    END IF;
  ELSIF refusal IS NULL THEN
    SELECT hh.human_id, hh.subject, hh.revoked_at INTO h FROM warden.humans hh
    WHERE hh.idp = p.idp_id AND hh.subject = claims->>(p.options->>'subject_claim');
    IF NOT FOUND THEN
      refusal := 'not_provisioned';
    ELSIF h.revoked_at IS NOT NULL THEN
      refusal := 'human_revoked';
      revoked_subject := h.subject;
    END IF;
  END IF;
  IF refusal IS NOT NULL THEN
    PERFORM warden._event('approver_sign_in_refused'::text, NULL::uuid, NULL::uuid, NULL::uuid, NULL::text,
                          revoked_subject::text,
                          jsonb_build_object('sign_in_id', r.sign_in_id, 'idp', p.name),
                          false::boolean, refusal::text, NULL::text, NULL::text);
    RETURN jsonb_build_object('error', 'access_denied', 'error_description', 'sign-in refused: ' || refusal
                              || CASE WHEN refusal IN ('keys_not_pinned', 'id_token_not_verified_by_database: unknown_kid')
                                      THEN ' (an administrator pins the provider''s current keys with warden.pin_identity_provider_keys)'
                                      ELSE '' END);
  END IF;
  IF for_console THEN
    PERFORM warden._event('console_signed_in'::text, NULL::uuid, NULL::uuid, NULL::uuid, NULL::text, console.subject::text,
                          jsonb_build_object('sign_in_id', r.sign_in_id, 'idp', p.name, 'role', console.role),
                          true::boolean, NULL::text, NULL::text, NULL::text);
    RETURN jsonb_build_object('session', console.session, 'approver', console.subject, 'console_role', console.role,
                              'next', r.next, 'expires_at', console.expires_at);
  END IF;
  secret := 'was_' || warden._random_secret(32::int);
  DELETE FROM warden.approver_sessions s WHERE s.expires_at < pg_catalog.now();
  INSERT INTO warden.approver_sessions (session_hash, human_id, login, idp_id, expires_at)
  VALUES (warden._secret_hash(secret::text), h.human_id, NULL, p.idp_id, expires);
  PERFORM warden._event('approver_signed_in'::text, NULL::uuid, NULL::uuid, NULL::uuid, NULL::text, h.subject::text,
                        jsonb_build_object('sign_in_id', r.sign_in_id, 'idp', p.name),
                        true::boolean, NULL::text, NULL::text, NULL::text);
  RETURN jsonb_build_object('session', secret, 'approver', h.subject, 'next', r.next, 'expires_at', expires);
END
$$;
REVOKE ALL ON FUNCTION warden.complete_approver_sign_in(text, text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION warden.complete_approver_sign_in(text, text, text, text) TO warden_proxy;
