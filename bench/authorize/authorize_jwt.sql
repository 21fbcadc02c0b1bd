-- The allowed path on a server that takes a minted JWT, without asking for the credential.
SELECT allowed FROM warden.authorize(:token, 'bench-jwt', 'update_ticket',
  '{"ticket": 4711, "field": "priority", "value": "high", "comment": "raised by the triage run"}');
