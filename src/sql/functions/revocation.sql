-- Revocation. Revocation is committed state: authorize reads it in the snapshot of its own
-- statement, so any authorize that starts after a revocation commits is denied, on every
-- connection, with nothing cached to get in the way. A revocation never waits on a lock that
-- the issuer, proxy or auditor roles can hold: issuing and deciding take no row locks on
-- agents, chains or tokens (foreign keys take FOR KEY SHARE, which an UPDATE of a status column
-- does not wait for). Two admin transactions changing the same agent still serialise.
--
-- Some rows a revocation changes can still be locked by a lesser role, legitimately and
-- briefly: the gateway revoking a chain for an OAuth client (RFC 7009, a replayed refresh
-- token) or for a provider's security event, counting a call against a grant's budget; an
-- approver denying a call. A login of such a role could hold that transaction open to keep a
-- kill from committing. So a revocation by an administrator (or a superuser) waits at most
-- 200 ms for a row lock; then it ends the transactions of the lesser logins that hold the
-- rows it needs (pg_terminate_backend, audited as revocation_ended_transaction) and goes on.
-- Locks held by another administrator or a superuser are waited for as before.

-- Whether the session's login is a superuser or an administrator (a member of warden_admin):
-- it outranks every other warden role.
CREATE OR REPLACE FUNCTION warden._session_is_admin() RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
  SELECT r.rolsuper OR pg_catalog.pg_has_role(r.oid, 'warden_admin', 'MEMBER')
  FROM pg_catalog.pg_roles r WHERE r.rolname = session_user
$$;
REVOKE ALL ON FUNCTION warden._session_is_admin() FROM PUBLIC;

-- Ends the transactions of lesser logins that hold, or queue for, rows of rel whose key_column
-- is in ids, and returns how many it ended. Each row is tried with NOWAIT: only rows another
-- transaction holds in a conflicting mode fail, and their xmax names the holder (a transaction
-- id, or a multixact whose members are, of which key-share ones conflict with nothing). Lesser
-- logins waiting behind a holder (they would take the row next) are ended with it.
CREATE OR REPLACE FUNCTION warden._end_lesser_lockers(rel regclass, key_column text, ids uuid[]) RETURNS int
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  lock_one text := format('SELECT FROM %s t WHERE t.%I = $1 FOR NO KEY UPDATE OF t NOWAIT', rel, key_column);
  xmax_of text := format('SELECT t.xmax::text::bigint FROM %s t WHERE t.%I = $1', rel, key_column);
  id uuid;
  v bigint;
  lockers bigint[] := '{}';
  members bigint[];
  holders int[] := '{}';
  more int[];
  h record;
  ended int := 0;
BEGIN
  FOREACH id IN ARRAY ids LOOP
    BEGIN
      EXECUTE lock_one USING id;
    EXCEPTION WHEN lock_not_available THEN
      EXECUTE xmax_of INTO v USING id;
      IF v IS NOT NULL AND v <> 0 THEN lockers := lockers || v; END IF;
    END;
  END LOOP;
  FOREACH v IN ARRAY lockers LOOP
    IF EXISTS (SELECT FROM pg_catalog.pg_locks l
               WHERE l.locktype = 'transactionid' AND l.transactionid::text::bigint = v) THEN
      members := ARRAY[v];
    ELSE
      BEGIN
        SELECT coalesce(array_agg(m.xid::text::bigint), '{}') INTO members
        FROM pg_catalog.pg_get_multixact_members(v::text::xid) m WHERE m.mode <> 'keysh';
      EXCEPTION WHEN OTHERS THEN
        members := '{}';  -- ended meanwhile
      END;
    END IF;
    holders := holders || ARRAY(SELECT l.pid FROM pg_catalog.pg_locks l
                                WHERE l.locktype = 'transactionid' AND l.mode = 'ExclusiveLock' AND l.granted
                                  AND l.transactionid::text::bigint = ANY (members));
  END LOOP;
  -- ... and whoever queues behind them for these rows, however deep the queue.
  LOOP
    more := ARRAY(SELECT a.pid FROM pg_catalog.pg_stat_activity a
                  WHERE a.wait_event_type = 'Lock' AND NOT a.pid = ANY (holders)
                    AND pg_catalog.pg_blocking_pids(a.pid) && holders
                    AND EXISTS (SELECT FROM pg_catalog.pg_locks rl WHERE rl.pid = a.pid AND rl.relation = rel));
    EXIT WHEN cardinality(more) = 0;
    holders := holders || more;
  END LOOP;
  FOR h IN
    SELECT DISTINCT a.pid, r.rolname
    FROM pg_catalog.pg_stat_activity a JOIN pg_catalog.pg_roles r ON r.oid = a.usesysid
    WHERE a.pid = ANY (holders) AND a.pid <> pg_catalog.pg_backend_pid()
      AND NOT r.rolsuper AND NOT pg_catalog.pg_has_role(r.oid, 'warden_admin', 'MEMBER')
      -- it holds or awaits a lock on rel itself (an id that matched another transaction by
      -- chance is left alone)
      AND EXISTS (SELECT FROM pg_catalog.pg_locks rl WHERE rl.pid = a.pid AND rl.relation = rel)
  LOOP
    IF pg_catalog.pg_terminate_backend(h.pid, 2000) THEN
      ended := ended + 1;
      RAISE WARNING 'ended the transaction of login "%" (pid %), which held or awaited rows of % this revocation needed',
        h.rolname, h.pid, rel;
      PERFORM warden._event('revocation_ended_transaction'::text, NULL::uuid, NULL::uuid, NULL::uuid, NULL::text,
                            NULL::text, jsonb_build_object('login', h.rolname, 'pid', h.pid, 'table', rel::text),
                            NULL::boolean, 'a lesser login held rows a revocation needed'::text, NULL::text, NULL::text);
    END IF;
  END LOOP;
  RETURN ended;
END
$$;
REVOKE ALL ON FUNCTION warden._end_lesser_lockers(regclass, text, uuid[]) FROM PUBLIC;

-- Locks (FOR NO KEY UPDATE) the rows of rel whose key_column is in ids, for a revocation about
-- to change them. For an outranking login each wait is bounded as described above, round after
-- round while lesser logins are ended; if they keep taking the rows back for 10 s the
-- revocation fails (55P03) rather than wait on them. Rows held by an administrator or a
-- superuser are waited for as any transaction does. For others (the gateway revoking for an
-- OAuth client, say) nothing changes: they wait.
CREATE OR REPLACE FUNCTION warden._lock_for_revocation(rel regclass, key_column text, ids uuid[]) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  caller_timeout text := current_setting('lock_timeout');
  lock_rows text := format('SELECT FROM %s t WHERE t.%I = ANY ($1) FOR NO KEY UPDATE OF t', rel, key_column);
  deadline timestamptz := pg_catalog.clock_timestamp() + interval '10 seconds';
  ended int;
BEGIN
  IF coalesce(cardinality(ids), 0) = 0 OR NOT coalesce(warden._session_is_admin(), false) THEN
    RETURN;
  END IF;
  LOOP
    BEGIN
      PERFORM set_config('lock_timeout', '200ms', true);
      EXECUTE lock_rows USING ids;
      PERFORM set_config('lock_timeout', caller_timeout, true);
      RETURN;
    EXCEPTION WHEN lock_not_available THEN
      -- (the subtransaction's rollback restored the caller's lock_timeout)
      ended := warden._end_lesser_lockers(rel, key_column, ids);
    END;
    EXIT WHEN ended = 0;
    IF pg_catalog.clock_timestamp() > deadline THEN
      RAISE EXCEPTION 'lesser logins keep taking rows of % this revocation needs', rel
        USING ERRCODE = '55P03',
              HINT = 'See the revocation_ended_transaction events for the logins; disable them (ALTER ROLE ... NOLOGIN) and revoke again.';
    END IF;
  END LOOP;
  -- Held by an administrator or a superuser (or a prepared transaction): wait as any
  -- transaction does.
  EXECUTE lock_rows USING ids;
END
$$;
REVOKE ALL ON FUNCTION warden._lock_for_revocation(regclass, text, uuid[]) FROM PUBLIC;

CREATE OR REPLACE FUNCTION warden._revoke_tokens(roots uuid[], why text) RETURNS uuid[]
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  tree uuid[];
  revoked uuid[];
  more uuid[];
BEGIN
  WITH RECURSIVE t AS (
    SELECT tt.token_id FROM warden.tokens tt WHERE tt.token_id = ANY (roots)
    UNION
    SELECT c.token_id FROM warden.tokens c JOIN t ON c.parent_id = t.token_id
  )
  SELECT coalesce(array_agg(token_id), '{}') INTO tree FROM t;
  PERFORM warden._lock_for_revocation('warden.tokens'::regclass, 'token_id'::text, tree::uuid[]);
  WITH r AS (
    UPDATE warden.tokens t SET revoked_at = now(), revoked_by = session_user, revoked_reason = why
    WHERE t.token_id = ANY (tree) AND t.revoked_at IS NULL RETURNING t.token_id
  )
  SELECT coalesce(array_agg(token_id), '{}') INTO revoked FROM r;
  -- A delegation that committed after the UPDATE above took its snapshot left a child this
  -- statement could not see; each statement here takes a new snapshot (READ COMMITTED), so
  -- repeat until no live child of the tree is left. (Children committing later still are
  -- refused at first use: their ancestor_tokens name a revoked token.)
  LOOP
    more := ARRAY(SELECT c.token_id FROM warden.tokens c WHERE c.parent_id = ANY (tree) AND c.revoked_at IS NULL);
    EXIT WHEN cardinality(more) = 0;
    PERFORM warden._lock_for_revocation('warden.tokens'::regclass, 'token_id'::text, more::uuid[]);
    WITH r AS (
      UPDATE warden.tokens c SET revoked_at = now(), revoked_by = session_user, revoked_reason = why
      WHERE c.token_id = ANY (more) AND c.revoked_at IS NULL RETURNING c.token_id
    )
    SELECT coalesce(array_agg(token_id), '{}') INTO more FROM r;
    tree := tree || more;
    revoked := revoked || more;
  END LOOP;
  -- Their calls can no longer happen: nothing left waiting for a person (src/sql/functions/approvals.sql).
  PERFORM warden._cancel_approvals(tree::uuid[], coalesce(why, 'revoked')::text);
  RETURN revoked;
END
$$;

-- Tells every front-end that something was revoked. Any database login may LISTEN on (and
-- NOTIFY) warden_events, so the payload names nothing (no token, chain or agent) and is only a
-- hint: a front-end asks warden.dead_tokens about its calls in flight before aborting any.
CREATE OR REPLACE FUNCTION warden._notify_revocation(kind text, chain_id uuid, agent text, token_ids uuid[])
RETURNS void
LANGUAGE sql SET search_path = pg_catalog, pg_temp
AS $$
  SELECT pg_catalog.pg_notify('warden_events', '{"kind": "revocation"}')
$$;
REVOKE ALL ON FUNCTION warden._notify_revocation(text, uuid, text, uuid[]) FROM PUBLIC;

CREATE OR REPLACE FUNCTION warden.revoke_token(token_id uuid, reason text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  t record;
  ids uuid[];
BEGIN
  IF token_id IS NULL THEN
    RAISE EXCEPTION 'token_id must not be NULL' USING ERRCODE = '22004';
  END IF;
  SELECT tt.chain_id, a.name AS agent, h.subject AS human INTO t
  FROM warden.tokens tt JOIN warden.agents a ON a.agent_id = tt.agent_id
  JOIN warden.chains c ON c.chain_id = tt.chain_id JOIN warden.humans h ON h.human_id = c.human_id
  WHERE tt.token_id = revoke_token.token_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown token %', token_id
      USING ERRCODE = '42704', HINT = 'Token ids are in warden.tokens and in each event''s token_id.';
  END IF;
  ids := warden._revoke_tokens(ARRAY[token_id]::uuid[], reason::text);
  IF cardinality(ids) = 0 THEN
    RAISE NOTICE 'token % and everything delegated from it were already revoked', token_id;
  ELSE
    PERFORM warden._event('token_revoked'::text, t.chain_id::uuid, token_id::uuid, NULL::uuid, t.agent::text,
                          t.human::text, jsonb_build_object('revoked_tokens', cardinality(ids)), NULL::boolean,
                          reason::text, NULL::text, NULL::text);
    PERFORM warden._notify_revocation('token'::text, t.chain_id::uuid, t.agent::text, ids::uuid[]);
  END IF;
  RETURN jsonb_build_object('tokens', cardinality(ids), 'token_ids', to_jsonb(ids));
END
$$;

CREATE OR REPLACE FUNCTION warden.revoke_chain(chain_id uuid, reason text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  c record;
  ids uuid[];
BEGIN
  IF chain_id IS NULL THEN
    RAISE EXCEPTION 'chain_id must not be NULL' USING ERRCODE = '22004';
  END IF;
  SELECT cc.revoked_at, h.subject AS human INTO c
  FROM warden.chains cc JOIN warden.humans h ON h.human_id = cc.human_id
  WHERE cc.chain_id = revoke_chain.chain_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown chain %', chain_id
      USING ERRCODE = '42704', HINT = 'Chain ids are in warden.chains and in each event''s chain_id.';
  END IF;
  IF c.revoked_at IS NULL THEN
    PERFORM warden._lock_for_revocation('warden.chains'::regclass, 'chain_id'::text, ARRAY[chain_id]::uuid[]);
    UPDATE warden.chains cc SET revoked_at = now(), revoked_by = session_user, revoked_reason = reason
    WHERE cc.chain_id = revoke_chain.chain_id;
  END IF;
  ids := warden._revoke_tokens(ARRAY(SELECT t.token_id FROM warden.tokens t
                                     WHERE t.chain_id = revoke_chain.chain_id AND t.parent_id IS NULL)::uuid[],
                               reason::text);
  IF c.revoked_at IS NOT NULL AND cardinality(ids) = 0 THEN
    RAISE NOTICE 'chain % was already revoked', chain_id;
  ELSE
    PERFORM warden._event('chain_revoked'::text, chain_id::uuid, NULL::uuid, NULL::uuid, NULL::text,
                          c.human::text, jsonb_build_object('revoked_tokens', cardinality(ids)), NULL::boolean,
                          reason::text, NULL::text, NULL::text);
    PERFORM warden._notify_revocation('chain'::text, chain_id::uuid, NULL::text, ids::uuid[]);
  END IF;
  RETURN jsonb_build_object('chains', 1, 'tokens', cardinality(ids), 'token_ids', to_jsonb(ids));
END
$$;

CREATE OR REPLACE FUNCTION warden.revoke_agent(agent text, reason text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  a record;
  ids uuid[];
BEGIN
  IF agent IS NULL THEN
    RAISE EXCEPTION 'agent must not be NULL' USING ERRCODE = '22004';
  END IF;
  SELECT aa.agent_id, aa.status INTO a FROM warden.agents aa WHERE aa.name = revoke_agent.agent;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown agent "%"', agent USING ERRCODE = '42704', HINT = 'List agents with SELECT name FROM warden.agents.';
  END IF;
  IF a.status = 'active' THEN
    PERFORM warden._lock_for_revocation('warden.agents'::regclass, 'agent_id'::text, ARRAY[a.agent_id]::uuid[]);
    UPDATE warden.agents aa SET status = 'suspended' WHERE aa.agent_id = a.agent_id;
  END IF;
  ids := warden._revoke_tokens(ARRAY(SELECT t.token_id FROM warden.tokens t
                                     WHERE t.agent_id = a.agent_id AND t.revoked_at IS NULL)::uuid[],
                               reason::text);
  IF a.status <> 'active' AND cardinality(ids) = 0 THEN
    RAISE NOTICE 'agent "%" was already %', agent, a.status;
  ELSE
    PERFORM warden._event('agent_suspended'::text, NULL::uuid, NULL::uuid, NULL::uuid, agent::text, NULL::text,
                          jsonb_build_object('revoked_tokens', cardinality(ids)), NULL::boolean, reason::text,
                          NULL::text, NULL::text);
    PERFORM warden._notify_revocation('agent'::text, NULL::uuid, agent::text, ids::uuid[]);
  END IF;
  RETURN jsonb_build_object('agents', 1, 'tokens', cardinality(ids), 'token_ids', to_jsonb(ids));
END
$$;

-- Any combination of an agent, a chain and a token, in one transaction: either everything
-- named is revoked or (on any error) nothing is.
CREATE OR REPLACE FUNCTION warden.kill(agent text DEFAULT NULL, chain_id uuid DEFAULT NULL, token_id uuid DEFAULT NULL,
                            reason text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  r jsonb;
  ids jsonb := '[]';
  killed jsonb := jsonb_build_object('agents', '[]'::jsonb, 'chains', '[]'::jsonb);
BEGIN
  IF agent IS NULL AND chain_id IS NULL AND token_id IS NULL THEN
    RAISE EXCEPTION 'kill needs at least one of agent, chain_id or token_id'
      USING ERRCODE = '22004', HINT = 'For example SELECT warden.kill(chain_id => ''...'', reason => ''runaway deploy'').';
  END IF;
  IF agent IS NOT NULL THEN
    r := warden.revoke_agent(agent::text, reason::text);
    ids := ids || (r->'token_ids');
    killed := jsonb_set(killed, '{agents}', jsonb_build_array(agent));
  END IF;
  IF chain_id IS NOT NULL THEN
    r := warden.revoke_chain(chain_id::uuid, reason::text);
    ids := ids || (r->'token_ids');
    killed := jsonb_set(killed, '{chains}', jsonb_build_array(chain_id));
  END IF;
  IF token_id IS NOT NULL THEN
    r := warden.revoke_token(token_id::uuid, reason::text);
    ids := ids || (r->'token_ids');
  END IF;
  PERFORM warden._event('killed'::text, chain_id::uuid, token_id::uuid, NULL::uuid, agent::text, NULL::text,
                        killed || jsonb_build_object('tokens', jsonb_array_length(ids)), NULL::boolean,
                        reason::text, NULL::text, NULL::text);
  RETURN killed || jsonb_build_object('tokens', jsonb_array_length(ids), 'token_ids', ids,
                                      'transaction', txid_current());
END
$$;

CREATE OR REPLACE FUNCTION warden.reinstate_agent(agent text, reason text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  st text;
BEGIN
  IF agent IS NULL THEN
    RAISE EXCEPTION 'agent must not be NULL' USING ERRCODE = '22004';
  END IF;
  IF reason IS NULL OR btrim(reason) = '' THEN
    RAISE EXCEPTION 'reinstating an agent needs a reason' USING ERRCODE = '22004',
      HINT = 'Say why it is safe again; the reason is kept in the audit trail.';
  END IF;
  SELECT aa.status INTO st FROM warden.agents aa WHERE aa.name = reinstate_agent.agent FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'unknown agent "%"', agent USING ERRCODE = '42704';
  END IF;
  IF st = 'active' THEN
    RAISE NOTICE 'agent "%" is already active', agent;
    RETURN;
  END IF;
  IF st = 'pending' THEN
    RAISE EXCEPTION 'agent "%" is pending, not revoked', agent
      USING ERRCODE = '55000', HINT = 'A self-registered agent is admitted with warden.approve_agent(agent, reason).';
  END IF;
  UPDATE warden.agents aa SET status = 'active' WHERE aa.name = reinstate_agent.agent;
  -- Revoked tokens stay revoked: the agent starts again with new chains only.
  PERFORM warden._event('agent_reinstated'::text, NULL::uuid, NULL::uuid, NULL::uuid, agent::text, NULL::text,
                        NULL::jsonb, NULL::boolean, reason::text, NULL::text, NULL::text);
END
$$;

REVOKE ALL ON FUNCTION warden._revoke_tokens(uuid[], text) FROM PUBLIC;
REVOKE ALL ON FUNCTION warden.revoke_token(uuid, text), warden.revoke_chain(uuid, text), warden.revoke_agent(text, text),
  warden.kill(text, uuid, uuid, text), warden.reinstate_agent(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
  warden.revoke_token(uuid, text),
  warden.revoke_chain(uuid, text),
  warden.revoke_agent(text, text),
  warden.kill(text, uuid, uuid, text),
  warden.reinstate_agent(text, text)
TO warden_admin;
