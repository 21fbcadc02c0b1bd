-- As warden-mcp asks for a credentialed call: the decision with its credential minted inside
-- the decision's transaction, then the credential handed out once that committed (two
-- transactions; warden-mcp pipelines them in one round trip).
SELECT allowed FROM warden.authorize(:token, 'bench-jwt', 'update_ticket',
  '{"ticket": 4711, "field": "priority", "value": "high", "comment": "raised by the triage run"}',
  '{"credential": "with_decision"}');
SELECT credential IS NOT NULL AS vended FROM warden.credential_for_last_decision();
