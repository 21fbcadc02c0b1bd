#include "frontend/oauth/consent_page.hpp"

namespace warden::oauth {

namespace {

using nlohmann::json;

std::string field(const json& view, const char* name) {
  auto it = view.find(name);
  return it != view.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string page(std::string_view title, const std::string& body) {
  return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
         "<title>" +
         html_escape(title) + "</title></head><body>\n" + body + "</body></html>\n";
}

}  // namespace

std::vector<std::pair<std::string, std::string>> page_headers(bool for_consent) {
  std::string form_action = for_consent
                                ? "form-action 'self' https: http://127.0.0.1:* http://localhost:*"
                                : "form-action 'self'";
  return {{"Content-Type", "text/html; charset=utf-8"},
          {"Content-Security-Policy", "default-src 'none'; style-src 'self'; " + form_action +
                                          "; frame-ancestors 'none'; base-uri 'none'"},
          {"X-Frame-Options", "DENY"},
          {"Cache-Control", "no-store"},
          {"Pragma", "no-cache"},
          {"Referrer-Policy", "no-referrer"},
          {"X-Content-Type-Options", "nosniff"}};
}

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string consent_page(const json& view) {
  std::string agent = field(view, "agent");
  std::string client_name = field(view, "client_name");
  std::string client = client_name.empty() ? field(view, "client_id") : client_name;
  std::string purpose = field(view, "purpose");
  bool pending = field(view, "agent_status") == "pending";

  std::string body = "<main>\n<h1>Allow " + html_escape(agent) + " to act for you?</h1>\n";
  body += "<p>Signed in as <strong id=\"human\">" + html_escape(field(view, "human")) +
          "</strong>.</p>\n";
  body += "<p>The application <strong id=\"client\">" + html_escape(client) +
          "</strong> asks to use the agent <strong id=\"agent\">" + html_escape(agent) +
          "</strong> on your behalf.</p>\n";
  if (!purpose.empty()) {
    body += "<p>Purpose: <span id=\"purpose\">" + html_escape(purpose) + "</span></p>\n";
  }
  if (pending) {
    body +=
        "<p id=\"pending\">This agent registered itself and is waiting for an administrator to "
        "approve it: it cannot be given access yet.</p>\n";
  }
  const json tools =
      view.contains("tools") && view["tools"].is_array() ? view["tools"] : json::array();
  if (tools.empty()) {
    body += "<p id=\"no-tools\">No tools would be available to it.</p>\n";
  } else {
    body +=
        "<p>It could call these tools, each call checked and recorded by warden:</p>\n"
        "<ul id=\"tools\">\n";
    for (const auto& tool : tools) {
      if (tool.is_string()) body += "<li>" + html_escape(tool.get<std::string>()) + "</li>\n";
    }
    body += "</ul>\n";
  }
  // Relative: the page is served at ISSUER/callback, so this posts to ISSUER/consent also when
  // the issuer has a path. A pending agent cannot be approved here: no Approve button to press.
  body +=
      "<form method=\"post\" action=\"consent\">\n"
      "<input type=\"hidden\" name=\"request_id\" value=\"" +
      html_escape(field(view, "request_id")) +
      "\">\n<input type=\"hidden\" name=\"consent_token\" value=\"" +
      html_escape(field(view, "consent_token")) + "\">\n";
  if (!pending) {
    body +=
        "<button type=\"submit\" name=\"decision\" value=\"approve\" id=\"approve\">"
        "Approve</button>\n";
  }
  body += std::string("<button type=\"submit\" name=\"decision\" value=\"deny\" id=\"deny\">") +
          (pending ? "Back to the application" : "Deny") + "</button>\n</form>\n</main>\n";
  return page("warden: allow " + agent + "?", body);
}

std::string error_page(std::string_view title, std::string_view message) {
  return page("warden: " + std::string(title), "<main>\n<h1>" + html_escape(title) +
                                                   "</h1>\n<p id=\"error\">" +
                                                   html_escape(message) + "</p>\n</main>\n");
}

}  // namespace warden::oauth
