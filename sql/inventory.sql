-- Humans, agents, servers and modes: the happy path and every bad input the foundation names.
\set VERBOSITY default

SELECT warden.add_human('alice@example.com', 'Alice') IS NOT NULL AS human_added;
SELECT warden.add_agent('triage-bot', 'alice@example.com', 'sorts tickets') IS NOT NULL AS agent_added;
SELECT name, status, mode FROM warden.agents;

-- unknown owner
SELECT regress.try($$SELECT warden.add_agent('orphan', 'nobody@example.com')$$);
-- duplicate name
SELECT regress.try($$SELECT warden.add_agent('triage-bot', 'alice@example.com')$$);
-- empty name, bad name, NULL owner
SELECT regress.try($$SELECT warden.add_agent('', 'alice@example.com')$$);
SELECT regress.try($$SELECT warden.add_agent('has space', 'alice@example.com')$$);
SELECT regress.try($$SELECT warden.add_agent('lonely', NULL)$$);
-- nothing half-written
SELECT count(*) AS agents FROM warden.agents;

-- humans: duplicate and empty subjects
SELECT regress.try($$SELECT warden.add_human('alice@example.com')$$);
SELECT regress.try($$SELECT warden.add_human('  ')$$);
SELECT count(*) AS humans FROM warden.humans;

-- modes
SELECT warden.set_mode('triage-bot', 'observe');
SELECT name, mode FROM warden.agents;
SELECT regress.try($$SELECT warden.set_mode('triage-bot', 'lenient')$$);
SELECT regress.try($$SELECT warden.set_mode('ghost', 'enforce')$$);
SELECT warden.set_mode('triage-bot', 'enforce');

-- servers
SELECT warden.add_server('tickets', 'https://tickets.internal/mcp') IS NOT NULL AS http_server;
SELECT warden.add_server('everything', 'npx @modelcontextprotocol/server-everything stdio', 'stdio',
                         '{"kind": "secret", "env": "API_KEY"}') IS NOT NULL AS stdio_server;
SELECT name, transport, credential FROM warden.servers ORDER BY name;
-- a transport other than http or stdio
SELECT regress.try($$SELECT warden.add_server('grpc-thing', 'grpc://x', 'grpc')$$);
-- names that would break server__tool, or are not names at all
SELECT regress.try($$SELECT warden.add_server('bad__name', 'https://x.example')$$);
SELECT regress.try($$SELECT warden.add_server('Upper', 'https://x.example')$$);
-- endpoint problems
SELECT regress.try($$SELECT warden.add_server('noscheme', 'tickets.internal/mcp')$$);
SELECT regress.try($$SELECT warden.add_server('empty', '', 'stdio')$$);
-- credential descriptors
SELECT regress.try($$SELECT warden.add_server('c1', 'https://x.example', 'http', '{"kind": "magic"}')$$);
SELECT regress.try($$SELECT warden.add_server('c2', 'https://x.example', 'http', '{"kind": "jwt", "ttl_seconds": 61}')$$);
SELECT regress.try($$SELECT warden.add_server('c3', 'https://x.example', 'http', '{"kind": "secret", "env": "K"}')$$);
SELECT regress.try($$SELECT warden.add_server('c4', 'https://x.example', 'http', '{"kind": "jwt", "colour": "red"}')$$);
SELECT regress.try($$SELECT warden.add_server('c5', 'https://x.example', 'http', '[]')$$);
-- duplicate
SELECT regress.try($$SELECT warden.add_server('tickets', 'https://elsewhere.example/mcp')$$);
SELECT count(*) AS servers FROM warden.servers;
