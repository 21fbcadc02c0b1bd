-- Signs ID tokens inside a pgTAP test (\ir include/id_token_signer.sql, after BEGIN): RS256 with
-- a 2048-bit RSA key made for these tests only (its private half is below, in decimal, and
-- protects nothing). The database verifies console and approver sign-ins' ID tokens itself, so
-- the tests need real signatures; this is textbook RSA (PKCS #1 v1.5, CRT) in numeric
-- arithmetic, about 0.1 s a token. tap_jws.jwks() is the public half, as a provider publishes it.
CREATE SCHEMA tap_jws;
GRANT USAGE ON SCHEMA tap_jws TO PUBLIC;

CREATE FUNCTION tap_jws.b64url(b bytea) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT translate(rtrim(replace(encode(b, 'base64'), E'\n', ''), '='), '+/', '-_')
$$;
CREATE FUNCTION tap_jws.to_numeric(b bytea) RETURNS numeric LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  n numeric := 0;
BEGIN
  FOR i IN 0 .. length(b) - 1 LOOP
    n := n * 256 + get_byte(b, i);
  END LOOP;
  RETURN n;
END
$$;
CREATE FUNCTION tap_jws.to_bytes(n numeric, len int) RETURNS bytea LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  out bytea := decode(repeat('00', len), 'hex');
BEGIN
  FOR i IN REVERSE len - 1 .. 0 LOOP
    out := set_byte(out, i, mod(n, 256)::int);
    n := div(n, 256);
  END LOOP;
  RETURN out;
END
$$;
CREATE FUNCTION tap_jws.modpow(b numeric, e numeric, m numeric) RETURNS numeric LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  r numeric := 1;
BEGIN
  b := mod(b, m);
  WHILE e > 0 LOOP
    IF mod(e, 2) = 1 THEN
      r := mod(r * b, m);
    END IF;
    e := div(e, 2);
    b := mod(b * b, m);
  END LOOP;
  RETURN r;
END
$$;
-- The compact JWS of the JSON text `payload` (any text: a test may sign what jsonb cannot
-- hold), header {alg: RS256, kid, typ: JWT}.
CREATE FUNCTION tap_jws.sign_payload(payload text, kid text DEFAULT 'tap-key') RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  p numeric := 139107639640996490182114313310012771554532560967555825045348896080525331675753454302508613312085975457560844378350165502851986762586550278703507857150259533228318147290099721828969842495433481022442749871513601679133411518756028543590939208136212829888878787908586621123312543963155542505771942190146817254401;
  q numeric := 133201658748571083340418213554315426943479279972853334570685911059735973360007029073034668080118240876481196056370573330123233458565372405329191471905372141583133583613294449594594942390985854861976995990406934742911194885508010609205578650663865879690334811914712692471291550847967482386666293667180173025417;
  dp numeric := 56583784084558103594531384778343843387715779029755759098813050211554454610559463887518113640746264457446282091613267497368330303752571178565972083798642272865717154744029760051828403211060404612604770222543137366103704537391064725499294404847569489283576158934145629887014446754807215040646786317727907203073;
  dq numeric := 20009617931545269320939580884725199173879694086283184748285743845203482883398220871019825552722341294672587624928945396265670283955263306688830584874321203806795400013318947407705375708977459162246723614531581740756530107387069356968261010052119559722772574626552122577778435358625507180626663734278175739433;
  qi numeric := 54322006914234969866494507194478519691717547205491912386660913378850760841371413567726768422457720657239566711569466804107884383024642794892010516851578191165828308337778305139429529393862913505722417444186276633304259338607224191335384973842181341797682152283586278035352615261565064407904450134502829212364;
  input text := tap_jws.b64url(convert_to(jsonb_build_object('alg', 'RS256', 'kid', kid, 'typ', 'JWT')::text, 'UTF8'))
                || '.' || tap_jws.b64url(convert_to(payload, 'UTF8'));
  -- EMSA-PKCS1-v1_5: 00 01 FF.. 00, the DER DigestInfo of SHA-256, the digest; 256 bytes.
  em bytea := '\x0001'::bytea || decode(repeat('ff', 202), 'hex') || '\x003031300d060960864801650304020105000420'::bytea
              || sha256(convert_to(input, 'UTF8'));
  c numeric := tap_jws.to_numeric(em);
  m1 numeric := tap_jws.modpow(c, dp, p);
  m2 numeric := tap_jws.modpow(c, dq, q);
  h numeric := mod(qi * mod(m1 - m2 + p, p), p);
BEGIN
  RETURN input || '.' || tap_jws.b64url(tap_jws.to_bytes(m2 + h * q, 256));
END
$$;
CREATE FUNCTION tap_jws.sign(claims jsonb, kid text DEFAULT 'tap-key') RETURNS text LANGUAGE sql AS $$
  SELECT tap_jws.sign_payload(claims::text, kid)
$$;
CREATE FUNCTION tap_jws.jwks() RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT jsonb_build_object('keys', jsonb_build_array(jsonb_build_object(
    'kty', 'RSA', 'kid', 'tap-key', 'alg', 'RS256', 'use', 'sig',
    'n', 'ksfnJ-E-jmZ_8CvCrxRnkkg5a1SKPE8Sa83rEZBcPfSnwXLb9mxZ8gmhtE0nLo_KRlYwqYpjg6uq6FG2IBbks80bDCGbZot3EiDtOXIQd37oQiJSKYW0g6QRSLMyjCyuY-O0wWWaX2Az2FttkoD9B3ANmaFokcSsKdVzQI730L4v6QtIYwF7DQzH5EF0aaJmQ8d6wWVBOtA3YYdjM_6gYgC5gxfPzzOhO4cLk7XOywCTeQrzl5GxMKcwQVcA3ijEhSe-dOIMKkaNcMvztSh-feQ-A6gKRTj-UfMs4gP3AcnFVI18bokcwyIps1OpZJnzzYHTgxl1jf9VE57MderkiQ',
    'e', 'AQAB')))
$$;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA tap_jws TO PUBLIC;
