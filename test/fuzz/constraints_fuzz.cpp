// Input: up to three JSON documents separated by NUL bytes: child constraints, parent
// constraints, arguments (missing parts reuse the previous one). Besides crashes, it checks that
// canonical JSON is idempotent and value-preserving, that delegation checks are sound (if child
// is narrower than parent, any call the child allows the parent allows too), that a verdict's
// kind agrees with allowed, and that no verdict ever quotes a secret planted under sensitive keys
// anywhere in the arguments. Strings found in the documents are also tried as paths and
// path_prefix operands against one another: a path judged inside a prefix starts with it, has no
// climbing segment, and is inside every prefix that one was proven narrower than.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "core/bounded_json.hpp"
#include "core/canonical_json.hpp"
#include "core/constraints.hpp"
#include "core/json_values.hpp"
#include "core/path_prefix.hpp"
#include "core/redaction.hpp"
#include "../unit/test_pattern_engine.hpp"

namespace {

using nlohmann::json;

constexpr size_t kMaxDepth = 64;
constexpr size_t kMaxBytes = 1 << 20;

void check_canonical(const json& value) {
  const std::string canon = warden::canonical_json(value);
  auto reparsed = warden::parse_json_bounded(canon, kMaxDepth, SIZE_MAX);
  if (!reparsed || warden::canonical_json(*reparsed) != canon ||
      !warden::json_values_equal(*reparsed, value)) {
    abort();
  }
}

constexpr std::string_view kPlantedSecret = "Planted-Secret-4f1c";

// Copy of value with the planted secret put under sensitive keys: every sensitive member's value
// becomes the secret (as a string, inside an object, inside an array, in turn), and every object
// gains a "password" member holding it. The other members stay, so constraints still reach them.
json plant_secret(const json& value, size_t depth, size_t& turn) {
  if (depth > 24 || !value.is_structured()) return value;
  const std::string secret(kPlantedSecret);
  if (value.is_array()) {
    json out = json::array();
    for (const auto& element : value) out.push_back(plant_secret(element, depth + 1, turn));
    return out;
  }
  json out = json::object();
  for (auto it = value.cbegin(); it != value.cend(); ++it) {
    if (!warden::is_sensitive_key(it.key())) {
      out[it.key()] = plant_secret(it.value(), depth + 1, turn);
      continue;
    }
    switch (turn++ % 3) {
      case 0:
        out[it.key()] = secret;
        break;
      case 1:
        out[it.key()] = json::object({{secret, secret}});
        break;
      default:
        out[it.key()] = json::array({secret, 9007199254740993ull});
        break;
    }
  }
  out["password"] = secret;
  return out;
}

void check_verdict_shape(const warden::Verdict& verdict) {
  if (verdict.allowed != (verdict.kind == warden::VerdictKind::allowed)) abort();
}

// Evaluates constraints against the arguments with a secret planted under sensitive keys; the
// verdict must not show it. Skipped when the secret already occurs outside sensitive keys (in the
// constraints or the original arguments), where quoting it would be legitimate.
void check_secret_never_quoted(const json& constraints, const json& arguments,
                               warden::PatternEngine& patterns) {
  if (!arguments.is_object()) return;
  for (const json* doc : {&constraints, &arguments}) {
    if (warden::canonical_json(*doc).find(kPlantedSecret) != std::string::npos) return;
  }
  size_t turn = 0;
  const json planted = plant_secret(arguments, 0, turn);
  const warden::Verdict verdict = warden::evaluate_constraints(constraints, planted, patterns);
  check_verdict_shape(verdict);
  for (const std::string* text : {&verdict.argument, &verdict.predicate, &verdict.detail}) {
    if (text->find(kPlantedSecret) != std::string::npos) abort();
  }
}

// Up to limit strings (values and keys) of value, appended to out.
void collect_strings(const json& value, size_t depth, size_t limit, std::vector<std::string>& out) {
  if (out.size() >= limit || depth > 8) return;
  if (value.is_string()) {
    out.push_back(value.get<std::string>());
  } else if (value.is_structured()) {
    for (auto it = value.cbegin(); it != value.cend() && out.size() < limit; ++it) {
      if (value.is_object()) out.push_back(it.key());
      collect_strings(it.value(), depth + 1, limit, out);
    }
  }
}

bool has_climbing_segment(std::string_view path) {
  for (size_t start = 0; start <= path.size();) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view segment = path.substr(start, end - start);
    if (segment == "." || segment == "..") return true;
    start = end + 1;
  }
  return false;
}

void check_paths(const std::vector<std::string>& strings) {
  using warden::PathPlacement;
  for (const std::string& prefix : strings) {
    const bool prefix_ok = !warden::path_prefix_operand_error(prefix).has_value();
    for (const std::string& value : strings) {
      const auto judgement = warden::judge_path(value, prefix);
      if ((judgement.placement == PathPlacement::kMalformedPrefix) == prefix_ok) abort();
      if (judgement.placement != PathPlacement::kWithin) continue;
      if (!value.starts_with(prefix) || has_climbing_segment(value) ||
          value.find_first_of("\\%") != std::string::npos) {
        abort();
      }
      for (const std::string& wider : strings) {
        if (warden::path_prefix_within(prefix, wider) &&
            warden::judge_path(value, wider).placement != PathPlacement::kWithin) {
          abort();  // narrowing would have widened a delegated path_prefix
        }
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> parts;
  while (parts.size() < 2) {
    const size_t nul = input.find('\0');
    if (nul == std::string_view::npos) break;
    parts.push_back(input.substr(0, nul));
    input.remove_prefix(nul + 1);
  }
  parts.push_back(input);
  while (parts.size() < 3) parts.push_back(parts.back());

  std::vector<json> docs;
  for (std::string_view part : parts) {
    auto parsed = warden::parse_json_bounded(part, kMaxDepth, kMaxBytes);
    if (!parsed) return 0;
    docs.push_back(std::move(*parsed));
  }
  const json& child = docs[0];
  const json& parent = docs[1];
  const json& arguments = docs[2];

  // The unit tests' literal-with-anchors stand-in for PostgreSQL's regex engine.
  warden::testing::LiteralPatternEngine patterns;
  const bool child_valid = !warden::validate_constraints(child, patterns).has_value();
  const bool parent_valid = !warden::validate_constraints(parent, patterns).has_value();
  const warden::Verdict child_verdict = warden::evaluate_constraints(child, arguments, patterns);
  const warden::Verdict parent_verdict = warden::evaluate_constraints(parent, arguments, patterns);
  if (!child_verdict.allowed && child_verdict.message().size() > 4096) abort();
  check_verdict_shape(child_verdict);
  check_verdict_shape(parent_verdict);
  check_secret_never_quoted(child, arguments, patterns);
  check_secret_never_quoted(parent, arguments, patterns);

  std::string offending;
  const bool narrower = warden::constraints_narrower_or_equal(child, parent, &offending);
  if (narrower && child_valid && parent_valid && child_verdict.allowed && !parent_verdict.allowed) {
    abort();  // delegation would have widened the grant
  }

  std::vector<std::string> strings;
  for (const json& doc : docs) collect_strings(doc, 0, strings.size() + 8, strings);
  check_paths(strings);

  for (const json& doc : docs) {
    check_canonical(doc);
    const json redacted = warden::redact_arguments(doc);
    if (warden::json_depth_exceeds(redacted, warden::kRedactionMaxDepth)) abort();
    check_canonical(redacted);
  }
  return 0;
}
