#!/usr/bin/env bash
# warden.chain_graph (issue 16) through real Graphviz: a human subject, a chain purpose and tool
# names chosen to break out of a DOT string (quotes, backslashes, newlines, braces, a second
# digraph) must come out of `dot` as the same graph — one human, one token, the calls, nothing
# injected — and render as the literal text that was asked for.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -z "${PGHOST:-}" ]; then eval "$(scripts/pg env)"; fi
command -v dot >/dev/null || { echo "FAIL: graphviz (dot) is not installed (scripts/deps installs it)" >&2; exit 1; }

db=warden_shell_dot
failures=0
cleanup() { dropdb --if-exists "$db" >/dev/null 2>&1 || true; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }
q() { psql -X -q -v ON_ERROR_STOP=1 -tA -d "$db" "$@"; }

cleanup
createdb "$db"
q -c 'CREATE EXTENSION warden'
q <<'SQL' >/dev/null
SELECT warden.add_human(E'eve"]; "pwn" -> "human" [color=red]; } digraph x { \\\n"a" -> "b"');
SELECT warden.add_server('dotfiles', 'https://files.dot.internal/mcp');
SELECT warden.add_agent('dot-agent', E'eve"]; "pwn" -> "human" [color=red]; } digraph x { \\\n"a" -> "b"');
SELECT warden.grant('dot-agent', 'dotfiles/read_file');
CREATE TABLE chain AS SELECT * FROM warden.start_chain(
  E'eve"]; "pwn" -> "human" [color=red]; } digraph x { \\\n"a" -> "b"', 'dot-agent', E'purpose \\" } ; "x" -> "y"');
SELECT warden.authorize(c.token, 'dotfiles', 'read_file', '{}') FROM chain c;
SELECT warden.authorize(c.token, 'dotfiles', E'read"]; "pwn" [label="x\\', '{}') FROM chain c;
SELECT warden.authorize(c.token, 'dotfiles', 'x} digraph y { "z" -> "human"', '{}') FROM chain c;
SQL
chain="$(q -c 'SELECT chain_id FROM chain')"
q -c "SELECT warden.chain_graph('$chain')" >"${TMPDIR:-/tmp}/warden_chain_graph.dot"
dotfile="${TMPDIR:-/tmp}/warden_chain_graph.dot"

if json="$(timeout 10 dot -Tjson "$dotfile")"; then pass "dot parses the chain's DOT"; else fail "dot refused the DOT"; fi
names="$(jq -c '[.objects[].name] | sort' <<<"$json")"
if [ "$(jq 'length' <<<"$names")" = 5 ] && ! grep -q '"pwn"\|"a"\|"b"\|"x"\|"y"\|"z"' <<<"$names"; then
  pass "five nodes (human, token, three calls), none injected"
else
  fail "unexpected nodes: $names"
fi
edges="$(jq '.edges | length' <<<"$json")"
[ "$edges" = 4 ] && pass "four edges (started, three calls)" || fail "expected 4 edges, got $edges"
[ "$(grep -c '^digraph' "$dotfile")" = 1 ] && pass "one digraph" || fail "more than one digraph"

# What a person sees: the SVG's text lines are the strings as asked (a newline becomes a space).
texts="$(timeout 10 dot -Tsvg "$dotfile" | python3 -c '
import html, re, sys
for t in re.findall(r"<text[^>]*>([^<]*)</text>", sys.stdin.read()):
    print(html.unescape(t))')"
want_human='eve"]; "pwn" -> "human" [color=red]; } digraph x { \ "a" -> "b"'
grep -qxF "$want_human" <<<"$texts" && pass "the human subject renders literally" || fail "human subject not literal: $texts"
grep -qxF 'dotfiles/read"]; "pwn" [label="x\' <<<"$texts" && pass "a hostile tool name renders literally" || fail "tool name not literal: $texts"
grep -qxF 'dotfiles/x} digraph y { "z" -> "human"' <<<"$texts" && pass "braces in a tool name render literally" || fail "braces not literal: $texts"
grep -qxF 'purpose \" } ; "x" -> "y"' <<<"$texts" && pass "the purpose renders literally" || fail "purpose not literal: $texts"

[ "$failures" = 0 ]
