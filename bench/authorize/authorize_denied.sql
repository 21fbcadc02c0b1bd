-- The denied path: the same call with an argument the constraint refuses (constraint_failed).
SELECT allowed FROM warden.authorize(:token, 'bench', 'update_ticket',
  '{"ticket": 4711, "field": "status", "value": "closed", "comment": "closed by the triage run"}');
