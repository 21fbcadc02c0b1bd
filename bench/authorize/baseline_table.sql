-- The table of the baseline (baseline.sql): the columns of warden.events, a primary key,
-- nothing else. Used by bench/authorize and bench/gateway_cost.
CREATE TABLE bench_baseline (
  event_id uuid PRIMARY KEY, at timestamptz NOT NULL, kind text NOT NULL, chain_id uuid, token_id uuid,
  parent_id uuid, agent text, human text, server text, tool text, allowed boolean, reason text,
  trace_id text, arguments jsonb, arguments_digest bytea, detail jsonb, actor text NOT NULL,
  writer uuid NOT NULL, seq bigint NOT NULL, mac bytea NOT NULL
);
