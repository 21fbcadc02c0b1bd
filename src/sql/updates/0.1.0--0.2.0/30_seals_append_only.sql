-- 0.2.0: signed seals are append-only, like the events they vouch for.
CREATE TRIGGER seals_append_only BEFORE UPDATE OR DELETE ON warden.seals
  FOR EACH ROW EXECUTE FUNCTION warden._refuse_change();
CREATE TRIGGER seals_no_truncate BEFORE TRUNCATE ON warden.seals
  FOR EACH STATEMENT EXECUTE FUNCTION warden._refuse_change();
