#include "core/core_only.hpp"

#include "core/canonical_json.hpp"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <vector>

namespace warden {
namespace {

constexpr size_t kUnlimited = static_cast<size_t>(-1);

void append_ecmascript_double(std::string& out, double d) {
  char buf[64];
  // Shortest round-trip digits in scientific form: "d[.ddd]e[+-]xx".
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, std::abs(d), std::chars_format::scientific);
  if (ec != std::errc{}) {
    out += "null";
    return;
  }
  std::string_view sci(buf, static_cast<size_t>(end - buf));
  const size_t e_pos = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e_pos)) {
    if (c != '.') digits += c;
  }
  const int exponent = std::atoi(std::string(sci.substr(e_pos + 1)).c_str());
  const int k = static_cast<int>(digits.size());
  const int n = exponent + 1;  // position of the decimal point relative to the digits
  if (d < 0) out += '-';
  if (k <= n && n <= 21) {
    out += digits;
    out.append(static_cast<size_t>(n - k), '0');
  } else if (0 < n && n <= 21) {
    out.append(digits, 0, static_cast<size_t>(n));
    out += '.';
    out.append(digits, static_cast<size_t>(n));
  } else if (-6 < n && n <= 0) {
    out += "0.";
    out.append(static_cast<size_t>(-n), '0');
    out += digits;
  } else {
    out += digits[0];
    if (k > 1) {
      out += '.';
      out.append(digits, 1);
    }
    out += 'e';
    out += n - 1 < 0 ? '-' : '+';
    out += std::to_string(std::abs(n - 1));
  }
}

void append_double(std::string& out, double d) {
  if (!std::isfinite(d)) {
    out += "null";
  } else if (d == 0) {
    out += '0';
  } else if (d == std::trunc(d) && d >= -0x1p63 && d < 0x1p64) {
    out +=
        d < 0 ? std::to_string(static_cast<int64_t>(d)) : std::to_string(static_cast<uint64_t>(d));
  } else {
    append_ecmascript_double(out, d);
  }
}

class Writer {
 public:
  explicit Writer(size_t limit) : limit_(limit) {}

  std::string finish(const nlohmann::json& root) {
    write(root);
    if (limit_ != kUnlimited && out_.size() > limit_) {
      size_t cut = limit_;
      while (cut > 0 && (static_cast<unsigned char>(out_[cut]) & 0xC0) == 0x80) --cut;
      out_.resize(cut);
      out_ += "...";
    }
    return std::move(out_);
  }

 private:
  struct Frame {
    const nlohmann::json* container;
    nlohmann::json::const_iterator it;
    bool first;
  };

  bool full() const { return out_.size() > limit_; }

  void write(const nlohmann::json& root) {
    std::vector<Frame> stack;
    open(root, stack);
    while (!stack.empty() && !full()) {
      Frame& frame = stack.back();
      const bool is_object = frame.container->is_object();
      if (frame.it == frame.container->cend()) {
        out_ += is_object ? '}' : ']';
        stack.pop_back();
        continue;
      }
      if (!frame.first) out_ += ',';
      frame.first = false;
      if (is_object) {
        append_string(frame.it.key());
        out_ += ':';
      }
      const nlohmann::json& child = *frame.it;
      ++frame.it;
      open(child, stack);  // may reallocate the stack; frame is not used afterwards
    }
  }

  void open(const nlohmann::json& value, std::vector<Frame>& stack) {
    switch (value.type()) {
      case nlohmann::json::value_t::object:
        out_ += '{';
        stack.push_back({&value, value.cbegin(), true});
        break;
      case nlohmann::json::value_t::array:
        out_ += '[';
        stack.push_back({&value, value.cbegin(), true});
        break;
      case nlohmann::json::value_t::string:
        append_string(value.get_ref<const std::string&>());
        break;
      case nlohmann::json::value_t::boolean:
        out_ += value.get<bool>() ? "true" : "false";
        break;
      case nlohmann::json::value_t::number_integer:
        out_ += std::to_string(value.get<int64_t>());
        break;
      case nlohmann::json::value_t::number_unsigned:
        out_ += std::to_string(value.get<uint64_t>());
        break;
      case nlohmann::json::value_t::number_float:
        append_double(out_, value.get<double>());
        break;
      default:  // null, and binary/discarded which have no JSON text
        out_ += "null";
        break;
    }
  }

  void append_string(const std::string& s) {
    static constexpr char kHex[] = "0123456789abcdef";
    out_ += '"';
    for (unsigned char c : s) {
      if (full()) return;
      switch (c) {
        case '"':
          out_ += "\\\"";
          break;
        case '\\':
          out_ += "\\\\";
          break;
        case '\b':
          out_ += "\\b";
          break;
        case '\f':
          out_ += "\\f";
          break;
        case '\n':
          out_ += "\\n";
          break;
        case '\r':
          out_ += "\\r";
          break;
        case '\t':
          out_ += "\\t";
          break;
        default:
          if (c < 0x20) {
            out_ += "\\u00";
            out_ += kHex[c >> 4];
            out_ += kHex[c & 0xF];
          } else {
            out_ += static_cast<char>(c);
          }
      }
    }
    out_ += '"';
  }

  size_t limit_;
  std::string out_;
};

}  // namespace

std::string canonical_json(const nlohmann::json& value) {
  return Writer(kUnlimited).finish(value);
}

std::string canonical_json_truncated(const nlohmann::json& value, size_t max_bytes) {
  return Writer(max_bytes).finish(value);
}

}  // namespace warden
