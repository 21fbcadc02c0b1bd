-- Where you stand (issue 16): maturity, suggest_grants, access_review, evidence and chain_graph
-- on a seeded history (observe-mode calls, denials, a broad grant, an offboarded owner, a
-- changed tool, a kill), with exact expected rows. Then suggest_grants is applied and the same
-- traffic replayed in enforce mode: nothing is denied, and every call outside what was seen
-- is. And what the auditor must not learn or do: secrets, arguments beyond the audit's own
-- redacted copy, applying a suggestion, breaking out of a DOT string.
BEGIN;
SELECT plan(59);

-- Who may run them: the auditor and the admin; nobody else; no extra rights.
SELECT ok(bool_and(has_function_privilege('warden_auditor', f, 'EXECUTE') AND has_function_privilege('warden_admin', f, 'EXECUTE')),
          'warden_auditor and warden_admin run maturity, suggest_grants, access_review, evidence and chain_graph')
FROM unnest(ARRAY['warden.maturity()', 'warden.suggest_grants(text, timestamptz)', 'warden.access_review(interval)',
                  'warden.evidence(timestamptz, timestamptz)', 'warden.chain_graph(uuid)']::regprocedure[]) f;
SELECT is(
  ARRAY(SELECT r || ' ' || f::text FROM unnest(ARRAY['warden.maturity()', 'warden.suggest_grants(text, timestamptz)',
                                                     'warden.access_review(interval)', 'warden.evidence(timestamptz, timestamptz)',
                                                     'warden.chain_graph(uuid)']::regprocedure[]) f,
                                        unnest(ARRAY['warden_proxy', 'warden_issuer', 'warden_approver', 'warden_exporter', 'public']) r
        WHERE has_function_privilege(r, f, 'EXECUTE')),
  '{}'::text[], 'the proxy, the issuer, an approver, the exporter and PUBLIC run none of them');
SELECT is(
  (SELECT count(*)::int FROM pg_proc p
   WHERE p.oid IN ('warden.maturity()'::regprocedure, 'warden.suggest_grants(text, timestamptz)'::regprocedure,
                   'warden.access_review(interval)'::regprocedure, 'warden.evidence(timestamptz, timestamptz)'::regprocedure,
                   'warden.chain_graph(uuid)'::regprocedure)
     AND NOT p.prosecdef AND p.proconfig @> ARRAY['search_path=pg_catalog, pg_temp']),
  5, 'all five are SECURITY INVOKER (they read only what their caller may SELECT) with search_path pinned');

CREATE ROLE tap_ps_auditor LOGIN IN ROLE warden_auditor;
CREATE ROLE tap_ps_nobody LOGIN;
CREATE SCHEMA tap_ps;
GRANT USAGE ON SCHEMA tap_ps TO tap_ps_auditor, tap_ps_nobody;
CREATE TABLE tap_ps.tok (agent text PRIMARY KEY, chain_id uuid, token text, token_id uuid);
CREATE TABLE tap_ps.calls (label text PRIMARY KEY, event_id uuid);
-- The traffic an agent makes, replayed later.
CREATE TABLE tap_ps.traffic (n int PRIMARY KEY, server text, tool text, args jsonb);
CREATE TABLE tap_ps.replay (n int, phase text, allowed boolean, reason text);
GRANT SELECT ON ALL TABLES IN SCHEMA tap_ps TO tap_ps_auditor;

-- The seeded history.
SELECT lives_ok($$
  SELECT warden.add_human('tap-ps-alice@example.com');
  SELECT warden.add_human('tap-ps-bob@example.com');
  SELECT warden.add_human('tap-ps-carol@example.com');
  SELECT warden.add_human(E'eve"]; "pwn" -> "human" [color=red]; \\\nx');
  SELECT warden.add_identity_provider('tap-ps-idp', 'https://idp.tap-ps.example.com', 'warden');
  SELECT warden.link_human('tap-ps-carol@example.com', 'tap-ps-idp');
  SELECT warden.add_server('tap-ps-files', 'https://files.tap-ps.internal/mcp');
  SELECT warden.add_server('tap-ps-tickets', 'https://tickets.tap-ps.internal/mcp');
  SELECT warden.add_server('tap-ps-mint', 'https://mint.tap-ps.internal/mcp', 'http', '{"kind": "jwt"}');
  SELECT warden.add_agent('tap-ps-observer', 'tap-ps-alice@example.com');
  SELECT warden.set_mode('tap-ps-observer', 'observe');
  SELECT warden.add_agent('tap-ps-broad', 'tap-ps-alice@example.com');
  SELECT warden.add_agent('tap-ps-gov', 'tap-ps-alice@example.com');
  SELECT warden.add_agent('tap-ps-full', 'tap-ps-carol@example.com');
  SELECT warden.add_agent('tap-ps-orphan', 'tap-ps-bob@example.com');
  SELECT warden.grant('tap-ps-broad', 'tap-ps-files/*', ttl => '200 days');
  SELECT warden.grant('tap-ps-gov', 'tap-ps-files/read_file', '{"path": {"path_prefix": "/srv/"}}');
  SELECT warden.grant('tap-ps-gov', 'tap-ps-files/write_file', '{"path": {"path_prefix": "/srv/out/"}}');
  SELECT warden.grant('tap-ps-full', 'tap-ps-mint/lookup', '{"id": {"max": 10}}');
$$, 'an admin registers humans (one linked to an identity provider), servers, agents and grants');
-- Grants are not audit events: backdating one shows an unused grant without faking history.
UPDATE warden.grants g SET created_at = now() - interval '40 days'
FROM warden.agents a WHERE a.agent_id = g.agent_id AND a.name = 'tap-ps-gov' AND g.tool = 'write_file';

INSERT INTO tap_ps.tok
  SELECT x.agent, s.chain_id, s.token, NULL
  FROM (VALUES ('tap-ps-observer', 'tap-ps-alice@example.com'), ('tap-ps-broad', 'tap-ps-alice@example.com'),
               ('tap-ps-gov', E'eve"]; "pwn" -> "human" [color=red]; \\\nx'),
               ('tap-ps-full', 'tap-ps-carol@example.com')) x (agent, human),
       warden.start_chain(x.human, x.agent, CASE WHEN x.agent = 'tap-ps-gov' THEN E'tap "graph" \\N' ELSE 'tap posture' END) s;
UPDATE tap_ps.tok k SET token_id = t.token_id FROM warden.tokens t WHERE t.chain_id = k.chain_id;

-- Observe mode: the agent has no grant; everything is allowed and recorded as what would have been denied.
INSERT INTO tap_ps.traffic VALUES
  (1, 'tap-ps-files', 'read_file', '{"path": "/srv/docs/a.txt"}'),
  (2, 'tap-ps-files', 'read_file', '{"path": "/srv/docs/sub/b.txt", "max_bytes": 1000}'),
  (3, 'tap-ps-files', 'read_file', '{"path": "/srv/docs/c.txt", "max_bytes": 4096}'),
  (4, 'tap-ps-tickets', 'update_ticket', '{"ticket": 42, "field": "priority", "api_token": "s3cr3t-value-1"}'),
  (5, 'tap-ps-tickets', 'update_ticket', '{"ticket": 7, "field": "status", "api_token": "s3cr3t-value-2"}'),
  (6, 'tap-ps-tickets', 'search', jsonb_build_object('query', repeat('q', 3000))),
  (7, 'tap-ps-tickets', 'update_ticket', '{"ticket": 7, "field": "status", "api_token": "s3cr3t-value-3"}');
DO $observe$
DECLARE
  tr record;
  d warden.decision;
BEGIN
  FOR tr IN SELECT * FROM tap_ps.traffic ORDER BY n LOOP
    SELECT * INTO d FROM warden.authorize((SELECT t.token FROM tap_ps.tok t WHERE t.agent = 'tap-ps-observer'),
                                          tr.server, tr.tool, tr.args);
    INSERT INTO tap_ps.replay VALUES (tr.n, 'observe', d.allowed, d.reason);
  END LOOP;
END
$observe$;
SELECT is(
  (SELECT string_agg(DISTINCT r.allowed::text || ' ' || r.reason, ', ') FROM tap_ps.replay r WHERE r.phase = 'observe'),
  'true observe:no_grant', 'in observe mode every call is allowed and recorded as observe:no_grant');

-- The other agents' history: granted calls, scope denials, an unknown token, a changed tool, a kill.
DO $history$
DECLARE
  tk record;
BEGIN
  SELECT * INTO tk FROM tap_ps.tok WHERE agent = 'tap-ps-broad';
  PERFORM warden.authorize(tk.token, 'tap-ps-files', 'read_file', '{"path": "/srv/a"}');
  PERFORM warden.authorize(tk.token, 'tap-ps-files', 'read_file', '{"path": "/etc/hosts"}');
  PERFORM warden.authorize(tk.token, 'tap-ps-tickets', 'update_ticket', '{"ticket": 1}');
  SELECT * INTO tk FROM tap_ps.tok WHERE agent = 'tap-ps-gov';
  INSERT INTO tap_ps.calls SELECT 'gov-read', d.event_id
    FROM warden.authorize(tk.token, 'tap-ps-files', 'read_file', '{"path": "/srv/docs/a.txt"}') d;
  PERFORM warden.complete((SELECT c.event_id FROM tap_ps.calls c WHERE c.label = 'gov-read'), 'ok');
  -- An attacker-chosen tool name: denied, and recorded as asked.
  INSERT INTO tap_ps.calls SELECT 'gov-injection', d.event_id
    FROM warden.authorize(tk.token, 'tap-ps-files', 'read"]; "pwn" [label="x\', '{}') d;
  PERFORM warden.visible_tools(tk.token, 'tap-ps-files', '[{"name": "stat", "description": "v1"}]');
  PERFORM warden.visible_tools(tk.token, 'tap-ps-files', '[{"name": "stat", "description": "v2: now deletes"}]');
  SELECT * INTO tk FROM tap_ps.tok WHERE agent = 'tap-ps-full';
  INSERT INTO tap_ps.calls SELECT 'full-lookup', d.event_id
    FROM warden.authorize(tk.token, 'tap-ps-mint', 'lookup', '{"id": 3}') d;
  PERFORM warden.complete((SELECT c.event_id FROM tap_ps.calls c WHERE c.label = 'full-lookup'), 'ok');
  PERFORM warden.authorize('v4.local.not-a-token', 'tap-ps-files', 'read_file', '{}');
  PERFORM warden.kill(chain_id => (SELECT t.chain_id FROM tap_ps.tok t WHERE t.agent = 'tap-ps-broad'), reason => 'drill');
  PERFORM warden.revoke_human('tap-ps-bob@example.com', 'left the company');
END
$history$;
-- A vaulted secret past its rotation (sealed to the vault by libsodium, as warden-mcp secret put does).
SELECT encode(warden.vault_public_key(), 'hex') AS tap_ps_pk \gset
\set tap_ps_box `test/verifiers/ensure.sh >&2 && cd test/verifiers && node seal.mjs --random :tap_ps_pk`
CREATE TABLE tap_ps.sealed AS SELECT split_part(:'tap_ps_box', ' ', 1) AS box;
GRANT SELECT ON tap_ps.sealed TO tap_ps_auditor;
SELECT lives_ok(
  format('SELECT warden.add_server(%L, %L, %L, %L); SELECT warden.put_secret(%L, decode(%L, ''hex''))',
         'tap-ps-vault', 'https://vault.tap-ps.internal/mcp', 'http', '{"kind": "secret", "rotation_days": 1}',
         'tap-ps-vault', (SELECT x.box FROM tap_ps.sealed x)),
  'an admin vaults a secret that is due for rotation after a day');
UPDATE warden.secrets sc SET created_at = now() - interval '2 days'
FROM warden.servers s WHERE s.server_id = sc.server_id AND s.name = 'tap-ps-vault';
UPDATE warden.tools t SET first_seen = now() - interval '40 days'
FROM warden.servers s WHERE s.server_id = t.server_id AND s.name = 'tap-ps-files' AND t.name = 'stat';
SELECT is(
  (SELECT string_agg(e.reason, ',' ORDER BY e.at, e.seq) FROM warden.events e
   WHERE e.kind = 'call' AND e.agent IN ('tap-ps-broad', 'tap-ps-gov', 'tap-ps-full')),
  'granted,granted,no_grant,granted,no_grant,granted', 'the seeded decisions are what the test expects');

-- As the auditor.
CREATE TABLE tap_ps.before AS SELECT count(*) AS n FROM warden.events;
GRANT SELECT ON tap_ps.before TO tap_ps_auditor;
SET ROLE tap_ps_auditor;

-- maturity()
SELECT results_eq(
  $$SELECT coalesce(m.agent, '(organisation)'), m.rung FROM warden.maturity() m
    WHERE m.agent LIKE 'tap-ps-%' OR m.agent IS NULL$$,
  $$VALUES ('tap-ps-broad', 'tracked'), ('tap-ps-full', 'full'), ('tap-ps-gov', 'governed'),
           ('tap-ps-observer', 'tracked'), ('tap-ps-orphan', 'tracked'), ('(organisation)', 'shadow')$$,
  'maturity: one row per agent, then the organisation, each on its rung');
SELECT is((SELECT m.reasons->'missing' FROM warden.maturity() m WHERE m.agent = 'tap-ps-observer'),
          '["enforce_mode", "grants_used", "no_observe_allowances", "credentials_vaulted_or_minted", "chains_from_verified_identities"]'::jsonb,
          'an observe-mode agent is tracked: not enforced, no grant used, calls allowed only by observe mode');
SELECT is((SELECT m.reasons->'missing' FROM warden.maturity() m WHERE m.agent = 'tap-ps-broad'),
          '["grants_end_within_90_days", "credentials_vaulted_or_minted", "wildcards_constrained", "chains_from_verified_identities"]'::jsonb,
          'a 200-day grant keeps an enforced agent tracked; its unconstrained server/* grant keeps it from full');
SELECT is((SELECT m.reasons->'missing' FROM warden.maturity() m WHERE m.agent = 'tap-ps-gov'),
          '["credentials_vaulted_or_minted", "chains_from_verified_identities"]'::jsonb,
          'governed, not full: an uncredentialed upstream and a chain from an unverified human');
SELECT is((SELECT m.reasons FROM warden.maturity() m WHERE m.agent = 'tap-ps-full')->'missing', '[]'::jsonb,
          'full: minted credentials, constrained grants, a verified human, a kill in the period, every call attributed');
SELECT is((SELECT m.reasons->'missing' FROM warden.maturity() m WHERE m.agent IS NULL),
          '["no_unknown_token_calls", "every_agent_governed", "every_agent_full"]'::jsonb,
          'the organisation: a call with an unknown token is shadow AI; its agents are not all governed');
SELECT is((SELECT m.reasons #> '{facts,agents_by_rung}' FROM warden.maturity() m WHERE m.agent IS NULL),
          '{"shadow": 0, "tracked": 3, "governed": 1, "full": 1}'::jsonb,
          'the organisation counts its active agents by rung (an offboarded owner does not stop an agent: access_review flags it)');

-- suggest_grants(): the observed agent, exactly.
SELECT results_eq(
  $$SELECT s.tool, s.constraints, s.calls, s.observe_allowed, s.denied FROM warden.suggest_grants('tap-ps-observer') s$$,
  $$VALUES ('tap-ps-files/read_file',
            '{"path": {"path_prefix": "/srv/docs/"}, "max_bytes": {"optional": true, "min": 1000, "max": 4096}, "additional": false}'::jsonb,
            3::bigint, 3::bigint, 0::bigint),
           ('tap-ps-tickets/search', '{"query": {}, "additional": false}'::jsonb, 1, 1, 0),
           ('tap-ps-tickets/update_ticket',
            '{"ticket": {"min": 7, "max": 42}, "field": {"in": ["priority", "status"]}, "api_token": {}, "additional": false}'::jsonb,
            3, 3, 0)$$,
  'suggest_grants: a path prefix, a number range, an in list, presence only for a secret and a shortened value, nothing else');
SELECT results_eq(
  $$SELECT s.tool, s.constraints, s.calls, s.denied FROM warden.suggest_grants('tap-ps-broad') s$$,
  $$VALUES ('tap-ps-files/read_file', '{"path": {"in": ["/etc/hosts", "/srv/a"]}, "additional": false}'::jsonb, 2::bigint, 0::bigint),
           ('tap-ps-tickets/update_ticket', '{"ticket": {"min": 1, "max": 1}, "additional": false}'::jsonb, 1, 1)$$,
  'suggest_grants narrows a server/* grant to what was used (paths with nothing but / in common: an in list), and shows what was denied');
SELECT is(
  (SELECT s.grant_sql FROM warden.suggest_grants('tap-ps-observer') s WHERE s.tool = 'tap-ps-tickets/search'),
  format('SELECT warden.grant(%L, %L, %L::jsonb, interval %L, reason => %L);', 'tap-ps-observer', 'tap-ps-tickets/search',
         '{"query": {}, "additional": false}', '30 days',
         'suggested from 1 calls seen since ' || to_char((now() - interval '7 days') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')),
  'grant_sql is the warden.grant statement to apply, every value quoted');
SELECT is((SELECT count(*)::int FROM warden.suggest_grants('tap-ps-gov') s), 1,
          'an attacker-chosen tool name that warden.grant would refuse is never suggested');
SELECT ok(NOT EXISTS (SELECT FROM warden.suggest_grants('tap-ps-observer') s
                      WHERE s::text LIKE '%s3cr3t%' OR s::text LIKE '%qqqq%'),
          'no secret argument value, and no shortened one, reaches a suggestion');
SELECT throws_ok($$SELECT * FROM warden.suggest_grants('tap-ps-nobody')$$, '42704', NULL, 'an unknown agent is an error');
SELECT throws_ok($$SELECT * FROM warden.suggest_grants(NULL)$$, '22004', NULL, 'so is no agent');

-- access_review()
SELECT results_eq(
  $$SELECT r.finding, r.subject, r.detail->'why' FROM warden.access_review() r
    WHERE r.subject LIKE 'tap-ps-%'$$,
  $$VALUES ('agent_without_active_owner', 'tap-ps-orphan', NULL::jsonb),
           ('broad_grant', 'tap-ps-broad tap-ps-files/*', '["server_wildcard", "no_constraints", "long_ttl"]'::jsonb),
           ('secret_rotation_due', 'tap-ps-vault', NULL),
           ('tool_changed_since_approval', 'tap-ps-files/stat', NULL),
           ('unused_grant', 'tap-ps-gov tap-ps-files/write_file', NULL)$$,
  'access_review: the orphaned agent, the broad grant, the secret due, the changed tool, the unused grant');
SELECT is((SELECT r.detail - 'created_at' - 'age' FROM warden.access_review() r WHERE r.finding = 'secret_rotation_due'),
          '{"server": "tap-ps-vault", "version": 1, "rotation_days": 1}'::jsonb,
          'a secret due for rotation is named by server, version and age: never its value');
SELECT ok((SELECT bool_and(x.doc NOT LIKE '%' || left(b.box, 24) || '%' AND x.doc NOT LIKE '%\\x%' AND x.doc NOT LIKE '%tap-secret-%')
           FROM tap_ps.sealed b,
                (SELECT (SELECT jsonb_agg(r)::text FROM warden.access_review() r) AS doc
                 UNION ALL SELECT warden.evidence(now() - interval '1 hour', now() + interval '1 minute')::text) x),
          'neither the review nor the evidence holds the secret, its sealed box, or any bytes');
SELECT is((SELECT count(*)::int FROM warden.access_review(interval '50 days') r WHERE r.subject LIKE 'tap-ps-%'), 3,
          'with a longer horizon the 40-day-old grant and approval are not yet findings');
SELECT throws_ok($$SELECT * FROM warden.access_review(interval '-1 day')$$, '22023', NULL, 'a negative horizon is an error');

-- evidence()
CREATE TEMP TABLE ev AS SELECT warden.evidence(now() - interval '1 hour', now() + interval '1 minute') AS doc;
SELECT is(
  (SELECT jsonb_agg(c->>'framework' || ' ' || (c->>'control')) FROM ev, jsonb_array_elements(ev.doc->'controls') c),
  '["SOC 2 CC6.1", "SOC 2 CC6.2", "SOC 2 CC6.3", "SOC 2 CC7.2", "ISO/IEC 27001:2022 A.5.15", "ISO/IEC 27001:2022 A.5.18", "ISO/IEC 27001:2022 A.8.2", "ISO/IEC 27001:2022 A.8.5", "ISO/IEC 27001:2022 A.8.15", "ISO/IEC 27001:2022 A.8.16", "NIST SP 800-53 AC-2", "NIST SP 800-53 AC-6", "NIST SP 800-53 AU-2", "NIST SP 800-53 AU-9", "NIST SP 800-53 AU-10"]'::jsonb,
  'evidence maps every control the issue names');
SELECT is(
  (SELECT jsonb_build_object('decided', ev.doc #> '{facts,calls_decided,count}', 'denied', ev.doc #> '{facts,calls_denied,count}',
                             'observed', ev.doc #> '{facts,calls_allowed_in_observe_mode,count}',
                             'unauthenticated', ev.doc #> '{facts,calls_denied_unauthenticated,count}',
                             'revocations', ev.doc #> '{facts,revocations,count}',
                             'samples', jsonb_array_length(ev.doc #> '{facts,calls_decided,sample_event_ids}'),
                             'verified', ev.doc #> '{audit,verify_audit,ok}',
                             'agents', ev.doc #> '{facts,agents}') FROM ev),
  '{"agents": {"count": 5, "by_status": {"active": 5}}, "decided": 14, "denied": 3, "observed": 7, "unauthenticated": 1, "revocations": 3, "samples": 3, "verified": true}'::jsonb,
  'evidence counts the period''s facts, with sample event ids and the verify_audit result');
SELECT is(
  (SELECT (c->'facts'->'audit_verification'->>'ok')::boolean AND c->'facts' ? 'seal_coverage'
   FROM ev, jsonb_array_elements(ev.doc->'controls') c WHERE c->>'control' = 'AU-9'),
  true, 'AU-9 cites the audit verification and the seal coverage of the period');
SELECT ok((SELECT bool_and(e.event_id::text IN (SELECT jsonb_array_elements_text(ev.doc #> '{facts,calls_decided,sample_event_ids}') FROM ev))
           FROM (SELECT x.event_id FROM warden.events x WHERE x.kind = 'call' ORDER BY x.at, x.event_id LIMIT 3) e),
          'the sample event ids are real call events');
SELECT ok((SELECT ev.doc::text NOT LIKE '%s3cr3t%' AND ev.doc::text NOT LIKE '%"arguments"%'
                  AND ev.doc::text NOT LIKE '%v4.local%' FROM ev),
          'evidence holds no argument, secret or token');
SELECT throws_ok($$SELECT warden.evidence(now(), now() - interval '1 day')$$, '22023', NULL, 'a backwards period is an error');

-- chain_graph(): the whole DOT text, with every attacker-chosen string escaped.
SELECT is(
  (SELECT warden.chain_graph(t.chain_id) FROM tap_ps.tok t WHERE t.agent = 'tap-ps-gov'),
  (SELECT format($dot$digraph chain {
  node [fontname="Helvetica"];
  graph [label="chain %1$s\ntap \"graph\" \\N", rankdir=LR];
  "human" [label="human\neve\"]; \"pwn\" -> \"human\" [color=red]; \\ x", shape=ellipse];
  "t%2$s" [label="tap-ps-gov\ntoken %3$s", shape=box];
  "e%4$s" [label="tap-ps-files/read_file\nallowed\ngranted", shape=note, color=darkgreen];
  "e%5$s" [label="tap-ps-files/read\"]; \"pwn\" [label=\"x\\\ndenied\nno_grant", shape=note, color=red];
  "human" -> "t%2$s" [label="started"];
  "t%2$s" -> "e%4$s";
  "t%2$s" -> "e%5$s";
}
$dot$, t.chain_id, t.token_id, left(t.token_id::text, 8),
         (SELECT c.event_id FROM tap_ps.calls c WHERE c.label = 'gov-read'),
         (SELECT c.event_id FROM tap_ps.calls c WHERE c.label = 'gov-injection'))
   FROM tap_ps.tok t WHERE t.agent = 'tap-ps-gov'),
  'chain_graph: human -> token -> calls, allowed and denied marked, quotes, backslashes and newlines escaped');
-- Whatever the strings, the DOT has exactly one statement per line and no quote left open:
-- every line is a statement of the shapes chain_graph writes, with escaped strings only.
SELECT is(
  (SELECT count(*)::int FROM tap_ps.tok t,
          regexp_split_to_table(warden.chain_graph(t.chain_id), E'\n') line
   WHERE line <> '' AND line !~ ('^(digraph chain \{|\}|  node \[fontname="Helvetica"\];'
                                 || '|  graph \[label="([^"\\]|\\.)*", rankdir=LR\];'
                                 || '|  "[ahet][0-9a-f-]*(uman)?" \[label="([^"\\]|\\.)*", [a-z]+=[a-z]+(, [a-z]+=[a-z]+)*\];'
                                 || '|  "[ahet][0-9a-f-]*(uman)?" -> "[ahet][0-9a-f-]*" \[label="[a-z]+"\];'
                                 || '|  "[ahet][0-9a-f-]*(uman)?" -> "[ahet][0-9a-f-]*";)$')),
  0, 'every line of every chain''s DOT is one well-formed statement: no string escapes its quotes');
SELECT ok((SELECT warden.chain_graph(t.chain_id) LIKE '%style=dashed, color=red%revoked%' OR
                  warden.chain_graph(t.chain_id) LIKE '%revoked%style=dashed, color=red%'
           FROM tap_ps.tok t WHERE t.agent = 'tap-ps-broad'),
          'a killed chain''s tokens are drawn revoked');
SELECT throws_ok($$SELECT warden.chain_graph(gen_random_uuid())$$, '42704', NULL, 'an unknown chain is an error');

-- What the auditor must not do or learn.
SELECT throws_ok(
  $$SELECT warden.grant('tap-ps-observer', s.tool, s.constraints) FROM warden.suggest_grants('tap-ps-observer') s$$,
  '42501', NULL, 'the auditor cannot apply a suggestion');
SELECT throws_ok($$SELECT count(*) FROM warden.secrets$$, '42501', NULL, 'the auditor cannot read vaulted secrets');
SELECT throws_ok($$SELECT count(*) FROM warden.idp_secrets$$, '42501', NULL, 'nor identity provider secrets');
SELECT throws_ok($$SELECT count(*) FROM warden.oauth_requests$$, '42501', NULL, 'nor sign-in flow state');
SELECT is((SELECT count(*) FROM warden.events), (SELECT b.n FROM tap_ps.before b),
          'running all five recorded nothing and changed nothing');
RESET ROLE;

SET ROLE tap_ps_nobody;
SELECT throws_ok($$SELECT * FROM warden.maturity()$$, '42501', NULL, 'a login without warden_auditor cannot run maturity');
SELECT throws_ok($$SELECT warden.chain_graph(gen_random_uuid())$$, '42501', NULL, 'nor chain_graph');
RESET ROLE;

-- Apply the suggestions, switch to enforce mode, replay the same traffic: nothing is denied.
DO $apply$
DECLARE
  s record;
BEGIN
  FOR s IN SELECT * FROM warden.suggest_grants('tap-ps-observer') LOOP
    EXECUTE s.grant_sql;
  END LOOP;
  PERFORM warden.set_mode('tap-ps-observer', 'enforce');
END
$apply$;
INSERT INTO tap_ps.tok
  SELECT 'tap-ps-observer (enforced)', s.chain_id, s.token, NULL
  FROM warden.start_chain('tap-ps-alice@example.com', 'tap-ps-observer', 'tap replay') s;
DO $replay$
DECLARE
  tr record;
  d warden.decision;
BEGIN
  FOR tr IN SELECT * FROM tap_ps.traffic ORDER BY n LOOP
    SELECT * INTO d FROM warden.authorize((SELECT t.token FROM tap_ps.tok t WHERE t.agent = 'tap-ps-observer (enforced)'),
                                          tr.server, tr.tool, tr.args);
    INSERT INTO tap_ps.replay VALUES (tr.n, 'enforce', d.allowed, d.reason);
  END LOOP;
END
$replay$;
SELECT results_eq(
  $$SELECT r.n, r.allowed, r.reason FROM tap_ps.replay r WHERE r.phase = 'enforce' ORDER BY r.n$$,
  $$VALUES (1, true, 'granted'), (2, true, 'granted'), (3, true, 'granted'), (4, true, 'granted'),
           (5, true, 'granted'), (6, true, 'granted'), (7, true, 'granted')$$,
  'the same traffic in enforce mode under the suggested grants: zero denials');

-- ... and nothing broader than needed: each call a little outside what was seen is denied.
SELECT results_eq(
  $$SELECT x.label, d.allowed, d.reason
    FROM (VALUES
      (1, 'path outside the prefix', 'tap-ps-files', 'read_file', '{"path": "/srv/other/a.txt"}'::jsonb),
      (2, 'path escaping the prefix', 'tap-ps-files', 'read_file', '{"path": "/srv/docs/../../etc/shadow"}'),
      (3, 'number above the range', 'tap-ps-files', 'read_file', '{"path": "/srv/docs/a.txt", "max_bytes": 4097}'),
      (4, 'argument never seen', 'tap-ps-files', 'read_file', '{"path": "/srv/docs/a.txt", "mode": "w"}'),
      (5, 'value not in the list', 'tap-ps-tickets', 'update_ticket', '{"ticket": 7, "field": "owner", "api_token": "t"}'),
      (6, 'number below the range', 'tap-ps-tickets', 'update_ticket', '{"ticket": 6, "field": "status", "api_token": "t"}'),
      (7, 'required argument missing', 'tap-ps-tickets', 'update_ticket', '{"ticket": 7, "field": "status"}'),
      (8, 'tool never called', 'tap-ps-tickets', 'delete_ticket', '{"ticket": 7}'),
      (9, 'server never called', 'tap-ps-mint', 'lookup', '{"id": 1}')
    ) x (n, label, server, tool, args),
    tap_ps.tok t, warden.authorize(t.token, x.server, x.tool, x.args) d
    WHERE t.agent = 'tap-ps-observer (enforced)' ORDER BY x.n$$,
  $$VALUES ('path outside the prefix', false, 'constraint_failed'), ('path escaping the prefix', false, 'constraint_failed'),
           ('number above the range', false, 'constraint_failed'), ('argument never seen', false, 'constraint_failed'),
           ('value not in the list', false, 'constraint_failed'), ('number below the range', false, 'constraint_failed'),
           ('required argument missing', false, 'constraint_failed'), ('tool never called', false, 'no_grant'),
           ('server never called', false, 'no_grant')$$,
  'and every call outside the observed set is denied');
SELECT is((SELECT count(*)::int FROM warden.suggest_grants('tap-ps-observer') s
           WHERE s.constraints = '{}'::jsonb OR s.tool LIKE '%/*'), 0, 'no suggestion is a wildcard or unconstrained');
-- The refused attempts just made do not widen what is suggested next time; tools it had no
-- grant for are suggested, and marked denied.
SELECT results_eq(
  $$SELECT s.tool, s.constraints, s.calls, s.denied FROM warden.suggest_grants('tap-ps-observer') s$$,
  $$VALUES ('tap-ps-files/read_file',
            '{"path": {"path_prefix": "/srv/docs/"}, "max_bytes": {"optional": true, "min": 1000, "max": 4096}, "additional": false}'::jsonb,
            6::bigint, 0::bigint),
           ('tap-ps-mint/lookup', '{"id": {"min": 1, "max": 1}, "additional": false}'::jsonb, 1, 1),
           ('tap-ps-tickets/delete_ticket', '{"ticket": {"min": 7, "max": 7}, "additional": false}'::jsonb, 1, 1),
           ('tap-ps-tickets/search', '{"query": {}, "additional": false}'::jsonb, 2, 0),
           ('tap-ps-tickets/update_ticket',
            '{"ticket": {"min": 7, "max": 42}, "field": {"in": ["priority", "status"]}, "api_token": {}, "additional": false}'::jsonb,
            6, 0)$$,
  'calls a grant''s constraints refused never widen a suggestion; tools without a grant are suggested and marked denied');

-- Argument names a constraint key must spell differently, or cannot spell at all.
SELECT lives_ok($$
  SELECT warden.add_agent('tap-ps-odd', 'tap-ps-alice@example.com');
  SELECT warden.set_mode('tap-ps-odd', 'observe');
$$, 'an agent in observe mode whose tool takes odd argument names');
INSERT INTO tap_ps.tok
  SELECT 'tap-ps-odd', s.chain_id, s.token, NULL FROM warden.start_chain('tap-ps-alice@example.com', 'tap-ps-odd', 'tap odd') s;
SELECT is((SELECT d.reason FROM tap_ps.tok t, warden.authorize(t.token, 'tap-ps-tickets', 'search', '{"additional": 2, "$ref": "x"}') d
           WHERE t.agent = 'tap-ps-odd'), 'observe:no_grant', 'observed: an argument named "additional"');
SELECT is((SELECT s.constraints FROM warden.suggest_grants('tap-ps-odd') s),
          '{"$.additional": {"min": 2, "max": 2}, "$ref": {"in": ["x"]}, "additional": false}'::jsonb,
          'an argument named "additional" is addressed as $.additional');
SELECT is((SELECT d.reason FROM tap_ps.tok t, warden.authorize(t.token, 'tap-ps-tickets', 'search', '{"a.b": 1}') d
           WHERE t.agent = 'tap-ps-odd'), 'observe:no_grant', 'observed: an argument whose name holds a dot');
SELECT is((SELECT s.constraints FROM warden.suggest_grants('tap-ps-odd') s),
          '{"$.additional": {"min": 2, "max": 2, "optional": true}, "$ref": {"in": ["x"], "optional": true}}'::jsonb,
          'a name no constraint key can address is not constrained, and "additional": false is left off so the call still passes');
DO $odd$
BEGIN
  EXECUTE (SELECT s.grant_sql FROM warden.suggest_grants('tap-ps-odd') s);
  PERFORM warden.set_mode('tap-ps-odd', 'enforce');
END
$odd$;
SELECT results_eq(
  $$SELECT d.reason FROM tap_ps.tok t,
      LATERAL (VALUES (1, '{"additional": 2, "$ref": "x"}'::jsonb), (2, '{"a.b": 1}'), (3, '{"additional": 3}')) x (n, args),
      warden.authorize(t.token, 'tap-ps-tickets', 'search', x.args) d
    WHERE t.agent = 'tap-ps-odd' ORDER BY x.n$$,
  $$VALUES ('granted'), ('granted'), ('constraint_failed')$$,
  'replayed in enforce mode: both calls pass, a new value does not');

-- An agent that registered itself and no admin approved: shadow AI, for it and the organisation.
SELECT lives_ok($$SELECT warden.register_dynamic_client('{"redirect_uris": ["http://127.0.0.1:9/cb"], "client_name": "tap-ps shadow"}')$$,
                'a client registers itself (dynamic client registration)');
SELECT results_eq(
  $$SELECT m.rung, m.reasons->'missing'->0 FROM warden.maturity() m
    JOIN warden.agents a ON a.name = m.agent WHERE a.status = 'pending' AND a.name LIKE 'oauth-tap-ps-shadow%'$$,
  $$VALUES ('shadow', '"registered"'::jsonb)$$,
  'a pending, self-registered agent is shadow AI');
SELECT ok((SELECT m.rung = 'shadow' AND m.reasons->'missing' ? 'no_pending_agents' FROM warden.maturity() m WHERE m.agent IS NULL),
          'and so is the organisation while it waits');

-- A delegation and a call aborted by a kill, as drawn.
SELECT lives_ok($$
  SELECT warden.add_agent('tap-ps-lead', 'tap-ps-alice@example.com');
  SELECT warden.add_agent('tap-ps-helper', 'tap-ps-alice@example.com');
  SELECT warden.grant('tap-ps-lead', 'tap-ps-files/read_file');
  SELECT warden.grant('tap-ps-helper', 'tap-ps-files/read_file');
$$, 'a lead agent and a helper it delegates to');
INSERT INTO tap_ps.tok
  SELECT 'tap-ps-lead', s.chain_id, s.token, NULL FROM warden.start_chain('tap-ps-alice@example.com', 'tap-ps-lead', 'tap lead') s;
INSERT INTO tap_ps.tok
  SELECT 'tap-ps-helper', t.chain_id, d.token, d.token_id
  FROM tap_ps.tok t, warden.delegate(t.token, 'tap-ps-helper', ARRAY['tap-ps-files/read_file']) d WHERE t.agent = 'tap-ps-lead';
INSERT INTO tap_ps.calls
  SELECT 'helper-read', d.event_id FROM tap_ps.tok t, warden.authorize(t.token, 'tap-ps-files', 'read_file', '{}') d
  WHERE t.agent = 'tap-ps-helper';
SELECT isnt(warden.complete(c.event_id, 'revoked'), NULL, 'the helper''s call is aborted by a kill') FROM tap_ps.calls c WHERE c.label = 'helper-read';
SELECT results_eq(
  $$SELECT line FROM tap_ps.tok t, regexp_split_to_table(warden.chain_graph(t.chain_id), E'\n') line
    WHERE t.agent = 'tap-ps-lead' AND (line LIKE '%delegated%' OR line LIKE '%revoked%')$$,
  $$SELECT format('  "e%s" [label="tap-ps-files/read_file\nrevoked\ngranted", shape=note, color=orange];', c.event_id)
    FROM tap_ps.calls c WHERE c.label = 'helper-read'
    UNION ALL
    SELECT format('  "t%s" -> "t%s" [label="delegated"];', ht.parent_id, h.token_id)
    FROM tap_ps.tok h JOIN warden.tokens ht ON ht.token_id = h.token_id
    WHERE h.agent = 'tap-ps-helper'$$,
  'chain_graph draws the delegation and marks the aborted call revoked');

SELECT * FROM finish();
ROLLBACK;
