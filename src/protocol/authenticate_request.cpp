// The outbound authenticate message: validation (everything the device would refuse, spec
// §3.3, and the encoding traps of §9) and rendering to the exact JSON Apple expects.
#include <algorithm>
#include <charconv>
#include <set>
#include <sstream>

#include <Poco/Exception.h>
#include <Poco/URI.h>

#include "bcauth/base64.h"
#include "bcauth/crypto.h"
#include "bcauth/protocol.h"
#include "protocol/json_util.h"
#include "protocol/json_writer.h"
#include "protocol/message_info.h"

namespace bcauth::protocol {
namespace {

const std::string kData = "interactiveData.data";
const std::string kOAuth2 = "interactiveData.data.authenticate.oauth2";

bool isHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

bool isUuid(std::string_view text) {
  if (text.size() != 36) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? text[i] != '-' : !isHex(text[i])) return false;
  }
  return true;
}

// RFC 3986 unreserved characters: they survive every URL and form encoding unchanged.
bool isUnreserved(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_' || c == '~';
  });
}

// RFC 6749 §3.3 scope-token: %x21 / %x23-5B / %x5D-7E. The device joins scopes with spaces, so
// a space inside one item silently becomes two scopes.
bool isScopeToken(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u == 0x21 || (u >= 0x23 && u <= 0x5B) || (u >= 0x5D && u <= 0x7E);
  });
}

// The device reads data.version as an integer: "1.0" → 1, "2" → 2. Returns 0 when unreadable.
int versionNumber(std::string_view version) {
  int major = 0;
  const auto [end, error] = std::from_chars(version.data(), version.data() + version.size(), major);
  if (error != std::errc() || end == version.data()) return 0;
  std::string_view rest(end, static_cast<std::size_t>(version.data() + version.size() - end));
  if (!rest.empty()) {
    if (rest.front() != '.' || rest.size() == 1) return 0;
    rest.remove_prefix(1);
    if (!std::all_of(rest.begin(), rest.end(), [](char c) { return c >= '0' && c <= '9'; })) return 0;
  }
  return major;
}

Status validateScopes(const std::vector<std::string>& scope) {
  if (scope.empty()) return Status::invalidArgument("needs at least one scope", kOAuth2 + ".scope");
  for (std::size_t i = 0; i < scope.size(); ++i) {
    if (!isScopeToken(scope[i])) {
      return Status::invalidArgument("\"" + scope[i] +
                                         "\" is not one OAuth2 scope (no spaces, quotes or backslashes; one scope per item)",
                                     kOAuth2 + ".scope[" + std::to_string(i) + "]");
    }
  }
  return Status::ok();
}

Status validateResponseType(const std::string& responseType) {
  if (responseType != "code" && responseType != "token") {
    return Status::invalidArgument("must be \"code\" or \"token\"; the device refuses anything else",
                                   kOAuth2 + ".responseType");
  }
  return Status::ok();
}

Status validateLegacy(const LegacyOAuth2& oauth2) {
  if (auto s = validateResponseType(oauth2.responseType); !s) return s;
  if (auto s = validateScopes(oauth2.scope); !s) return s;
  if (oauth2.responseEncryptionKey.empty()) {
    return Status::invalidArgument("is required for the legacy flow", kOAuth2 + ".responseEncryptionKey");
  }
  if (auto key = crypto::PublicKey::fromBase64(oauth2.responseEncryptionKey); !key) {
    return Status::invalidArgument(key.status().message(), kOAuth2 + ".responseEncryptionKey");
  }
  if (oauth2.state && (oauth2.state->empty() || !isUnreserved(*oauth2.state))) {
    return Status::invalidArgument("must be non-empty and use only A-Z a-z 0-9 - . _ ~ (IdPs mangle + / = in redirects)",
                                   kOAuth2 + ".state");
  }
  if (oauth2.clientSecret) {
    if (oauth2.clientSecret->empty()) return Status::invalidArgument("must not be empty", kOAuth2 + ".clientSecret");
    // The device form-encodes the token request without escaping '&' and '+' (spec §9.10):
    // such a secret reaches the IdP corrupted, and every login would fail.
    if (oauth2.clientSecret->find_first_of("&+") != std::string::npos) {
      return Status::invalidArgument(
          "contains '&' or '+', which the device does not escape in the token request; use a secret without them",
          kOAuth2 + ".clientSecret");
    }
  }
  return Status::ok();
}

Status validateRedirect(const RedirectOAuth2& oauth2) {
  if (auto s = validateResponseType(oauth2.responseType); !s) return s;
  if (auto s = validateScopes(oauth2.scope); !s) return s;
  if (oauth2.state.empty()) return Status::invalidArgument("is required for the v2 flow", kOAuth2 + ".state");
  if (!isUnreserved(oauth2.state)) {
    return Status::invalidArgument("must use only A-Z a-z 0-9 - . _ ~ (IdPs mangle + / = in redirects)",
                                   kOAuth2 + ".state");
  }
  if (oauth2.redirectURI.empty()) return Status::invalidArgument("is required for the v2 flow", kOAuth2 + ".redirectURI");
  try {
    const Poco::URI uri(oauth2.redirectURI);
    if (uri.getScheme() != "https" && uri.getScheme() != "http") {
      return Status::invalidArgument("must be an absolute http or https URL; the device refuses other schemes",
                                     kOAuth2 + ".redirectURI");
    }
    if (uri.getHost().empty()) return Status::invalidArgument("must name a host", kOAuth2 + ".redirectURI");
    if (!uri.getFragment().empty()) {
      return Status::invalidArgument("must not have a fragment", kOAuth2 + ".redirectURI");
    }
  } catch (const Poco::Exception&) {
    return Status::invalidArgument("is not a valid URL", kOAuth2 + ".redirectURI");
  }
  if (oauth2.additionalParameters) {
    const std::string& query = *oauth2.additionalParameters;
    const std::string field = kOAuth2 + ".additionalParameters";
    if (query.empty()) return Status::invalidArgument("must not be empty when present", field);
    if (query.front() == '?' || query.find('#') != std::string::npos) {
      return Status::invalidArgument("is a query string without '?' or '#'", field);
    }
    static const std::set<std::string> kReserved = {"client_id", "redirect_uri", "response_type", "scope", "state"};
    std::istringstream pairs(query);
    for (std::string pair; std::getline(pairs, pair, '&');) {
      const std::string name = pair.substr(0, pair.find('='));
      if (name.empty()) return Status::invalidArgument("has an empty parameter name", field);
      if (kReserved.count(name) > 0) {
        return Status::invalidArgument("must not repeat " + name + ", which the device sets itself", field);
      }
    }
  }
  return Status::ok();
}

void writeOAuth2(json::Writer& out, const AuthenticateRequest& request, bool redacted) {
  out.key("oauth2").beginObject();
  if (const auto* legacy = std::get_if<LegacyOAuth2>(&request.oauth2)) {
    out.field("responseType", legacy->responseType);
    out.key("scope").strings(legacy->scope);
    out.fieldIf("state", legacy->state);
    out.field("responseEncryptionKey", legacy->responseEncryptionKey);
    if (legacy->clientSecret) out.field("clientSecret", redacted ? std::string_view("[redacted]") : *legacy->clientSecret);
  } else {
    const auto& v2 = std::get<RedirectOAuth2>(request.oauth2);
    out.field("responseType", v2.responseType);
    out.key("scope").strings(v2.scope);
    out.field("state", v2.state);
    out.field("redirectURI", v2.redirectURI);
    out.fieldIf("additionalParameters", v2.additionalParameters);
  }
  out.endObject();
}

}  // namespace

std::string_view toString(Flow flow) { return flow == Flow::kLegacy ? "legacy" : "v2"; }

std::optional<Flow> parseFlow(std::string_view text) {
  if (text == "legacy") return Flow::kLegacy;
  if (text == "v2") return Flow::kV2;
  return std::nullopt;
}

Status validate(const AuthenticateRequest& request) {
  if (!isUuid(request.id)) return Status::invalidArgument("must be a UUID (it is also the id header)", "id");
  if (request.sourceId.empty()) return Status::invalidArgument("is required: the business id", "sourceId");
  if (request.destinationId.empty()) {
    return Status::invalidArgument("is required: the customer's opaque id", "destinationId");
  }
  if (request.locale && request.locale->empty()) return Status::invalidArgument("must not be empty", "locale");

  const int version = versionNumber(request.version);
  if (version <= 0) {
    return Status::invalidArgument("must be a positive version number such as \"1.0\"", kData + ".version");
  }
  if (request.flow() == Flow::kLegacy && version >= 2) {
    return Status::invalidArgument("must be below 2 for the legacy flow: the device reads 2 and above as the new flow",
                                   kData + ".version");
  }
  if (request.requestIdentifier.empty()) {
    return Status::invalidArgument("is required: the device refuses the message without it",
                                   kData + ".requestIdentifier");
  }

  std::set<std::string> imageIds;
  for (std::size_t i = 0; i < request.images.size(); ++i) {
    const auto& image = request.images[i];
    const std::string path = kData + ".images[" + std::to_string(i) + "]";
    if (image.identifier.empty()) return Status::invalidArgument("is required", path + ".identifier");
    if (!imageIds.insert(image.identifier).second) {
      return Status::invalidArgument("\"" + image.identifier + "\" is used twice", path + ".identifier");
    }
    if (image.data.empty()) return Status::invalidArgument("is required", path + ".data");
    if (auto bytes = crypto::base64Decode(image.data); !bytes) {
      return Status::invalidArgument(bytes.status().message(), path + ".data");
    }
  }

  const std::pair<const MessageInfo*, std::string> infos[] = {
      {&request.receivedMessage, "interactiveData.receivedMessage"},
      {&request.replyMessage, "interactiveData.replyMessage"}};
  for (const auto& [info, path] : infos) {
    if (auto s = json::validateMessageInfo(*info, path); !s) return s;
    if (info->imageIdentifier && imageIds.count(*info->imageIdentifier) == 0) {
      return Status::invalidArgument("\"" + *info->imageIdentifier + "\" names no image in " + kData + ".images",
                                     path + ".imageIdentifier");
    }
  }
  if (request.sessionIdentifier && request.sessionIdentifier->empty()) {
    return Status::invalidArgument("must not be empty when present", "interactiveData.sessionIdentifier");
  }

  if (const auto* legacy = std::get_if<LegacyOAuth2>(&request.oauth2)) return validateLegacy(*legacy);
  return validateRedirect(std::get<RedirectOAuth2>(request.oauth2));
}

Result<AuthenticateMessage> AuthenticateMessage::create(AuthenticateRequest request) {
  if (auto status = validate(request); !status) return status;
  return AuthenticateMessage(std::move(request));
}

Poco::JSON::Object::Ptr AuthenticateMessage::toJson() const {
  return json::parseOrdered(render(false));
}

std::string AuthenticateMessage::toRedactedJsonString() const { return render(true); }

// Keys in the order Apple's examples give them.
std::string AuthenticateMessage::render(bool redacted) const {
  const auto& r = request_;
  json::Writer out;
  out.beginObject();
  out.field("id", r.id);
  out.field("sourceId", r.sourceId);
  out.field("destinationId", r.destinationId);
  out.field("v", std::int64_t{1});
  out.field("type", "interactive");
  out.fieldIf("locale", r.locale);
  out.key("interactiveData").beginObject();
  out.field("bid", kBusinessExtensionBid);
  out.key("data").beginObject();
  out.field("version", r.version);
  out.field("requestIdentifier", r.requestIdentifier);
  out.key("images").beginArray();
  for (const auto& image : r.images) {
    out.beginObject().field("identifier", image.identifier).field("data", image.data);
    out.fieldIf("description", image.description).endObject();
  }
  out.endArray();
  out.key("authenticate").beginObject();
  writeOAuth2(out, r, redacted);
  out.endObject();
  out.endObject();  // data
  json::writeMessageInfo(out.key("receivedMessage"), r.receivedMessage);
  json::writeMessageInfo(out.key("replyMessage"), r.replyMessage);
  out.fieldIf("sessionIdentifier", r.sessionIdentifier);
  out.endObject();  // interactiveData
  out.endObject();
  return out.take();
}

std::string AuthenticateMessage::toJsonString(bool pretty) const {
  if (!pretty) return render(false);
  std::ostringstream out;
  toJson()->stringify(out, 2);
  return out.str();
}

}  // namespace bcauth::protocol
