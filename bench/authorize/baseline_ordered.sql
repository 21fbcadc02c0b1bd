-- The stricter baseline: baseline.sql with a time-ordered key, like the event ids warden writes
-- since 0.2.0 (version 7 uuids, src/core/uuid.hpp: the millisecond clock, then random bytes),
-- so that neither side pays for inserting at random places in its primary key. Same table.
\set seq random(1, 1000000000)
INSERT INTO bench_baseline (event_id, at, kind, chain_id, token_id, parent_id, agent, human, server, tool,
                            allowed, reason, trace_id, arguments, arguments_digest, detail, actor, writer,
                            seq, mac)
VALUES (encode(substring(int8send((extract(epoch FROM clock_timestamp()) * 1000)::int8) FROM 3)
               || substring(uuid_send(gen_random_uuid()) FROM 7), 'hex')::uuid, clock_timestamp(), 'call', '6f1c0a52-3d7e-4a5b-9c1d-2e3f4a5b6c7d',
        '0b9a8c7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d', NULL, 'bench-bot', 'bench@example.com', 'bench',
        'update_ticket', true, 'granted', '6f1c0a523d7e4a5b9c1d2e3f4a5b6c7d',
        '{"ticket": 4711, "field": "priority", "value": "high", "comment": "raised by the triage run"}',
        '\x9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
        '{"context": {}, "grant_id": "3c2b1a09-8f7e-4d6c-9b5a-4f3e2d1c0b9a"}', 'postgres',
        '7e6d5c4b-3a29-4817-a6f5-e4d3c2b1a098', :seq,
        '\x2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae');
