-- The allowed path: a live token, a grant with an argument constraint that passes.
SELECT allowed FROM warden.authorize(:token, 'bench', 'update_ticket',
  '{"ticket": 4711, "field": "priority", "value": "high", "comment": "raised by the triage run"}');
