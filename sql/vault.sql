-- The vault: what put_secret refuses (and that nothing is stored or audited then), credential
-- descriptors add_server refuses, secrets_status (versions and ages, never values; rotation_due),
-- and which decisions carry a credential. Valid sealed boxes depend on this cluster's root key,
-- so storing and using real secrets is tested in test/shell/vault_credentials.sh; the boxes
-- below were sealed (libsodium crypto_box_seal) to a random key that is not this vault's.
\set VERBOSITY default
\set box_other '\\xa2ad135e324c026dd14d99df4ea29db548b77d0c06a29db52fb5fdb733167f1f430877e8825814c79f2506b088ff55747b57d80a672253ed7b147d8b1a358e100fff'
\set box_empty '\\x54a5d61f988e6fb638a1b34f8a2e3cb067d0a35c7f2ebd596a7d6730040f1879ada0afdfe24b99217a6e2c1185f6d4aa'

SELECT warden.add_server('vault-sec', 'https://sec.vault.internal/mcp', 'http', '{"kind": "secret", "rotation_days": 30}') IS NOT NULL AS secret_server,
       warden.add_server('vault-std', 'vault-upstream --stdio', 'stdio', '{"kind": "secret", "env": "VAULT_KEY"}') IS NOT NULL AS stdio_server,
       warden.add_server('vault-jwt', 'https://jwt.vault.internal/mcp', 'http', '{"kind": "jwt", "ttl_seconds": 60}') IS NOT NULL AS jwt_server,
       warden.add_server('vault-paseto', 'https://paseto.vault.internal/mcp', 'http', '{"kind": "paseto", "ttl_seconds": 1}') IS NOT NULL AS paseto_server;

-- ---------------------------------------------------------------- the vault's public key
SELECT length(warden.vault_public_key()) AS bytes,
       warden.vault_public_key() = warden.vault_public_key() AS stable,
       warden.vault_public_key() <> '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea AS not_zero;

-- ---------------------------------------------------------------- put_secret refusals
CREATE FUNCTION regress.vault_stored() RETURNS text LANGUAGE sql AS $$
  SELECT format('%s secrets, %s secret_stored events', (SELECT count(*) FROM warden.secrets),
                (SELECT count(*) FROM warden.events WHERE kind = 'secret_stored'))
$$;
SELECT regress.vault_stored() AS before;
-- Sealed for another key, and altered boxes.
SELECT regress.try(format('SELECT warden.put_secret(%L, %L::bytea)', 'vault-sec', :'box_other'::bytea)) AS other_key;
SELECT regress.try(format('SELECT warden.put_secret(%L, %L::bytea)', 'vault-sec', substr(:'box_other'::bytea, 1, 65))) AS last_byte_missing;
SELECT regress.try(format('SELECT warden.put_secret(%L, %L::bytea)', 'vault-sec',
                          overlay(:'box_other'::bytea placing '\x00'::bytea from 60 for 1))) AS one_byte_changed;
SELECT regress.try(format('SELECT warden.put_secret(%L, %L::bytea)', 'vault-sec', :'box_other'::bytea || '\x00'::bytea)) AS one_byte_appended;
-- Truncated below the size of a sealed box (ephemeral key + MAC = 48 bytes), and empty.
SELECT regress.try(format('SELECT warden.put_secret(%L, %L::bytea)', 'vault-sec', substr(:'box_other'::bytea, 1, 40))) AS truncated;
SELECT regress.try($$SELECT warden.put_secret('vault-sec', '\x'::bytea)$$) AS zero_bytes;
SELECT regress.try(format('SELECT warden.put_secret(%L, %L::bytea)', 'vault-sec', :'box_empty'::bytea)) AS empty_secret;
SELECT regress.try($$SELECT warden.put_secret('vault-sec', decode(repeat('00', 65536 + 49), 'hex'))$$) AS too_large;
-- Unknown server, templates without {secret}, bad header names.
SELECT regress.try(format('SELECT warden.put_secret(%L, %L::bytea)', 'no-such-server', :'box_other'::bytea)) AS unknown_server;
SELECT regress.try(format('SELECT warden.put_secret(%L, %L::bytea)', 'VAULT-SEC', :'box_other'::bytea)) AS names_are_exact;
SELECT regress.try(format('SELECT warden.put_secret(%L, %L::bytea, %L, %L)', 'vault-sec', :'box_other'::bytea, 'Authorization', 'Bearer')) AS no_placeholder;
SELECT regress.try(format('SELECT warden.put_secret(%L, %L::bytea, %L, %L)', 'vault-sec', :'box_other'::bytea, 'Authorization', 'Bearer {SECRET}')) AS placeholder_case;
SELECT regress.try(format('SELECT warden.put_secret(%L, %L::bytea, %L, %L)', 'vault-sec', :'box_other'::bytea, 'Authorization', '')) AS empty_template;
SELECT regress.try(format('SELECT warden.put_secret(%L, %L::bytea, %L, NULL)', 'vault-sec', :'box_other'::bytea, 'Authorization')) AS null_template;
SELECT regress.try(format('SELECT warden.put_secret(%L, %L::bytea, %L)', 'vault-sec', :'box_other'::bytea, 'Bad Header')) AS header_with_space;
SELECT regress.try(format('SELECT warden.put_secret(%L, %L::bytea, %L)', 'vault-sec', :'box_other'::bytea, 'X-Key:')) AS header_with_colon;
SELECT regress.try(format('SELECT warden.put_secret(%L, %L::bytea, %L)', 'vault-sec', :'box_other'::bytea, '')) AS empty_header;
SELECT regress.try(format('SELECT warden.put_secret(%L, %L::bytea, %L)', 'vault-sec', :'box_other'::bytea, repeat('x', 129))) AS header_too_long;
SELECT regress.try(format('SELECT warden.put_secret(%L, %L::bytea, %L)', 'vault-sec', :'box_other'::bytea, E'X-Key\nX-Evil')) AS header_with_crlf;
SELECT regress.try(format('SELECT warden.put_secret(%L, %L::bytea, NULL)', 'vault-sec', :'box_other'::bytea)) AS null_header;
-- A template is copied into an HTTP header value or an environment variable: CR, LF, NUL and
-- other control characters would let it inject headers.
SELECT regress.try(format('SELECT warden.put_secret(%L, %L::bytea, %L, %L)', 'vault-sec', :'box_other'::bytea, 'Authorization',
                          E'Bearer {secret}\r\nX-Injected: 1')) AS template_with_crlf;
SELECT regress.try(format('SELECT warden.put_secret(%L, %L::bytea, %L, %L)', 'vault-sec', :'box_other'::bytea, 'Authorization',
                          E'Bearer\t{secret}')) AS template_with_tab;
-- NULL arguments.
SELECT regress.try($$SELECT warden.put_secret(NULL, '\x00'::bytea)$$) AS null_server;
SELECT regress.try($$SELECT warden.put_secret('vault-sec', NULL)$$) AS null_sealed;
SELECT regress.vault_stored() AS after_refusals;

-- ---------------------------------------------------------------- credential descriptors
SELECT regress.try($$SELECT warden.add_server('vault-ttl61', 'https://x.example', 'http', '{"kind": "jwt", "ttl_seconds": 61}')$$) AS ttl_61;
SELECT regress.try($$SELECT warden.add_server('vault-ttl0', 'https://x.example', 'http', '{"kind": "paseto", "ttl_seconds": 0}')$$) AS ttl_0;
SELECT regress.try($$SELECT warden.add_server('vault-ttlfrac', 'https://x.example', 'http', '{"kind": "jwt", "ttl_seconds": 1.5}')$$) AS ttl_fraction;
SELECT regress.try($$SELECT warden.add_server('vault-ttlstr', 'https://x.example', 'http', '{"kind": "jwt", "ttl_seconds": "30"}')$$) AS ttl_string;
SELECT regress.try($$SELECT warden.add_server('vault-ttlbig', 'https://x.example', 'http', '{"kind": "jwt", "ttl_seconds": 1e9}')$$) AS ttl_huge;
SELECT regress.try($$SELECT warden.add_server('vault-env', 'https://x.example', 'http', '{"kind": "secret", "env": "KEY"}')$$) AS env_on_http;
SELECT regress.try($$SELECT warden.add_server('vault-envbad', 'cmd', 'stdio', '{"kind": "secret", "env": "1KEY=x"}')$$) AS bad_env_name;
SELECT regress.try($$SELECT warden.add_server('vault-nokind', 'https://x.example', 'http', '{"ttl_seconds": 30}')$$) AS no_kind;
-- rotation_days feeds secrets_status(): anything but a whole number of days would make it fail
-- for every caller once that server holds a secret.
SELECT regress.try($$SELECT warden.add_server('vault-rot-str', 'https://x.example', 'http', '{"kind": "secret", "rotation_days": "soon"}')$$) AS rotation_days_string;
SELECT regress.try($$SELECT warden.add_server('vault-rot-0', 'https://x.example', 'http', '{"kind": "secret", "rotation_days": 0}')$$) AS rotation_days_0;
SELECT regress.try($$SELECT warden.add_server('vault-rot-neg', 'https://x.example', 'http', '{"kind": "secret", "rotation_days": -5}')$$) AS rotation_days_negative;
SELECT regress.try($$SELECT warden.add_server('vault-rot-frac', 'https://x.example', 'http', '{"kind": "secret", "rotation_days": 1.5}')$$) AS rotation_days_fraction;
SELECT regress.try($$SELECT warden.add_server('vault-rot-big', 'https://x.example', 'http', '{"kind": "secret", "rotation_days": 1e12}')$$) AS rotation_days_huge;
SELECT regress.try($$SELECT warden.add_server('vault-rot-ok', 'https://x.example', 'http', '{"kind": "secret", "rotation_days": 365}')$$) AS rotation_days_365;
SELECT name, credential FROM warden.servers WHERE name LIKE 'vault-%' ORDER BY name;

-- ---------------------------------------------------------------- secrets_status
-- Versions, headers and ages, never values: no column of its result can carry the secret.
SELECT p.proargnames FROM pg_proc p WHERE p.oid = 'warden.secrets_status()'::regprocedure;
SELECT count(*) AS rows_without_secrets FROM warden.secrets_status();
-- Rows as put_secret leaves them (the wrapped value here is not a real one: status never opens
-- it), one for every vault-rot-* server that add_server accepted.
INSERT INTO warden.secrets (server_id, version, header, template, wrapped)
SELECT server_id, 3, 'X-Vault-Key', '{secret}', '\x00'::bytea FROM warden.servers WHERE name = 'vault-sec'
UNION ALL
SELECT server_id, 1, 'Authorization', 'Bearer {secret}', '\x00'::bytea FROM warden.servers WHERE name = 'vault-std'
UNION ALL
SELECT server_id, 7, 'Authorization', 'Bearer {secret}', '\x00'::bytea FROM warden.servers WHERE name LIKE 'vault-rot-%';
SELECT regress.try('SELECT count(*) FROM warden.secrets_status()') AS status_works;
SELECT server, version, header, age < interval '1 minute' AS fresh, rotation_days, rotation_due
FROM warden.secrets_status() WHERE server LIKE 'vault-%' ORDER BY server;
-- Backdated: rotation_due once older than the server's rotation_days (default 90).
UPDATE warden.secrets sc SET created_at = now() - interval '31 days'
FROM warden.servers s WHERE s.server_id = sc.server_id AND s.name IN ('vault-sec', 'vault-std', 'vault-rot-ok');
SELECT server, version, age >= interval '31 days' AND age < interval '31 days 2 hours' AS age_31_days, rotation_days, rotation_due
FROM warden.secrets_status() WHERE server LIKE 'vault-%' ORDER BY server;
UPDATE warden.secrets sc SET created_at = now() - interval '91 days'
FROM warden.servers s WHERE s.server_id = sc.server_id AND s.name IN ('vault-std', 'vault-rot-ok');
SELECT server, version, rotation_days, rotation_due
FROM warden.secrets_status() WHERE server LIKE 'vault-%' ORDER BY server;
-- The audit trail of put_secret never holds a value either (no secret_stored event was written
-- by the refusals above; the rows were inserted directly).
SELECT count(*) AS secret_stored_events FROM warden.events WHERE kind = 'secret_stored';

-- ---------------------------------------------------------------- decisions and credentials
SELECT warden.add_human('vault-alice@example.com') IS NOT NULL AS human,
       warden.add_agent('vault-bot', 'vault-alice@example.com') IS NOT NULL AS agent;
SELECT count(warden.grant('vault-bot', s || '/*')) AS grants
FROM unnest(ARRAY['vault-sec', 'vault-std', 'vault-jwt', 'vault-paseto']) s;
SELECT token AS vault_token FROM warden.start_chain('vault-alice@example.com', 'vault-bot', 'vault regress', '10 minutes') \gset
-- authorize never returns a credential (since 0.2.0): warden.credential vends one for the
-- committed decision, once. The superuser holds every role's privileges, warden_proxy's
-- included; a stored secret that does not open (here: the fake rows above) never reaches an
-- upstream.
SELECT allowed, reason, credential IS NULL AS authorize_returns_none, event_id AS jwt_call
FROM warden.authorize(:'vault_token', 'vault-jwt', 'search') \gset
SELECT :'allowed' AS allowed, :'reason' AS reason, :'authorize_returns_none' AS authorize_returns_none;
SELECT c ->> 'kind' AS kind, c ->> 'header' AS header, (c ->> 'value') LIKE 'Bearer %' AS bearer,
       c ? 'key_id' AS key_id,
       (c ->> 'expires_at')::bigint - extract(epoch FROM now())::bigint BETWEEN 0 AND 61 AS expires_within_60s
FROM warden.credential(:'jwt_call') c;
-- Once per decision.
SELECT regress.try(format('SELECT warden.credential(%L)', :'jwt_call')) AS second_vend;
SELECT event_id AS paseto_call FROM warden.authorize(:'vault_token', 'vault-paseto', 'search') \gset
SELECT c ->> 'kind' AS kind,
       (c ->> 'expires_at')::bigint - extract(epoch FROM now())::bigint BETWEEN 0 AND 2 AS expires_within_1s
FROM warden.credential(:'paseto_call') c;
-- The JWT's "iss" is warden.credential_issuer: "warden" unless set; warden-mcp sets it to its
-- --issuer on its connections, the URL whose /.well-known/jwks.json verifies the credential.
CREATE FUNCTION pg_temp.jwt_iss(credential jsonb) RETURNS text LANGUAGE sql AS $$
  SELECT convert_from(decode(rpad(translate(split_part(credential ->> 'value', '.', 2), '-_', '+/'),
           (length(split_part(credential ->> 'value', '.', 2)) + 3) / 4 * 4, '='), 'base64'), 'utf8')::jsonb ->> 'iss'
$$;
SELECT event_id AS iss_call FROM warden.authorize(:'vault_token', 'vault-jwt', 'search') \gset
SELECT pg_temp.jwt_iss(warden.credential(:'iss_call')) AS default_iss;
SET warden.credential_issuer = 'https://gateway.example.com';
SELECT event_id AS iss_call FROM warden.authorize(:'vault_token', 'vault-jwt', 'search') \gset
SELECT pg_temp.jwt_iss(warden.credential(:'iss_call')) AS gateway_iss;
RESET warden.credential_issuer;
SELECT regress.try($$SET warden.credential_issuer = ''$$) AS empty_issuer;
SELECT regress.try($$SET warden.credential_issuer = 'https://a.example/ x'$$) AS issuer_with_space;
SELECT allowed, reason, event_id AS sec_call FROM warden.authorize(:'vault_token', 'vault-sec', 'search') \gset
SELECT :'allowed' AS allowed, :'reason' AS reason;
SELECT regress.try(format('SELECT warden.credential(%L)', :'sec_call')) AS unopenable_secret;
DELETE FROM warden.secrets;
SELECT event_id AS sec_call FROM warden.authorize(:'vault_token', 'vault-sec', 'search') \gset
SELECT regress.try(format('SELECT warden.credential(%L)', :'sec_call')) AS no_secret_stored;
SELECT event_id AS std_call FROM warden.authorize(:'vault_token', 'vault-std', 'run') \gset
SELECT regress.try(format('SELECT warden.credential(%L)', :'std_call')) AS no_secret_stored;
-- Denied calls never get a credential.
SELECT allowed, reason, event_id AS denied_call FROM warden.authorize(:'vault_token', 'vault-jwt', '') \gset
SELECT :'allowed' AS allowed, :'reason' AS reason,
       regress.try(format('SELECT warden.credential(%L)', :'denied_call')) AS vend;
SELECT allowed, reason, event_id AS denied_call FROM warden.authorize(:'vault_token', 'no-such-server', 'search') \gset
SELECT :'allowed' AS allowed, :'reason' AS reason,
       regress.try(format('SELECT warden.credential(%L)', :'denied_call')) AS vend;
SELECT regress.try(format('SELECT warden.credential(%L)', gen_random_uuid())) AS unknown_event;
-- The audit trail names each credential vended (a child event of the call), never its value.
SELECT v.detail ->> 'kind' AS kind, v.detail ? 'value' AS has_value, v.detail ? 'key_id' AS has_key_id,
       v.reason, c.server
FROM warden.events v JOIN warden.events c ON c.event_id = v.parent_id
WHERE v.kind = 'credential_vended' AND c.server LIKE 'vault-%' ORDER BY v.at, v.event_id;
SELECT count(*) AS call_events_naming_a_credential FROM warden.events
WHERE kind = 'call' AND server LIKE 'vault-%' AND detail ? 'credential';

DROP FUNCTION regress.vault_stored();
