#include "app/cli.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Parser.h>

#include "app/cli_args.h"
#include "app/replay.h"
#include "app/runtime.h"
#include "bcauth/base64.h"
#include "bcauth/crypto.h"
#include "bcauth/outcome.h"
#include "bcauth/protocol.h"
#include "bcauth/schema.h"
#include "demo/demo.h"
#include "service/rekey.h"
#include "service/tenancy.h"
#include "store/store.h"

namespace bcauth::app {
namespace {

constexpr const char* kUsage = R"(bcauth — Apple Messages for Business authentication for CSPs

Usage: bcauth COMMAND [options]

Commands:
  keygen      make a P-384 request key pair (JSON: privateKey, publicKey)
  encrypt     encrypt a plaintext to a responseEncryptionKey, as the device does
  decrypt     decrypt an authenticate.token with the request's private key
  build       print an outbound authenticate message (legacy or v2)
  validate    check a payload against the matching JSON Schema
  inspect     parse an inbound reply and print the outcome bcauth maps it to
  rekey       re-seal every stored secret under a new master key
  business    add or list the businesses (tenants) of the store
  api-key     create, list or revoke the API keys of the store
  serve       run the HTTP server (see `bcauth serve --help`)
  replay      send payloads to a running server as Apple's gateway would
  demo        run both flows end to end against local doubles and print the timelines;
              --serve: leave them running with the web console and a phone page to click through

Run `bcauth COMMAND --help` for a command's options.
Exit codes: 0 success; 1 bad input or failed decryption (one line on stderr); 2 wrong usage.
)";

struct Command {
  const char* name;
  const char* help;
  std::vector<OptionSpec> options;
  std::function<int(const ParsedArgs&, std::ostream&, std::ostream&)> run;
};

// A failure of the input, reported as one line on stderr.
struct BadInput : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw BadInput(path + ": " + std::strerror(errno));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// Writes a secret file readable by its owner only; an existing file is replaced.
void writePrivateFile(const std::string& path, std::string_view content) {
  ::unlink(path.c_str());
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, S_IRUSR | S_IWUSR);
  if (fd < 0) throw BadInput(path + ": " + std::strerror(errno));
  const ssize_t written = ::write(fd, content.data(), content.size());
  ::close(fd);
  if (written != static_cast<ssize_t>(content.size())) throw BadInput(path + ": write failed");
}

std::string required(const ParsedArgs& args, const std::string& name) {
  auto value = args.value(name);
  if (!value) throw UsageError("--" + name + " is required");
  return *value;
}

crypto::PrivateKey loadPrivateKey(const ParsedArgs& args) {
  const auto inlineKey = args.value("private-key");
  const auto keyFile = args.value("private-key-file");
  if (inlineKey && keyFile) throw UsageError("give --private-key or --private-key-file, not both");
  if (!inlineKey && !keyFile) throw UsageError("--private-key or --private-key-file is required");
  std::string text = inlineKey ? *inlineKey : readFile(*keyFile);
  auto key = crypto::PrivateKey::fromText(text);
  crypto::cleanse(text.data(), text.size());
  if (!key) throw BadInput("private key " + key.status().message());
  return std::move(*key);
}

// --- keygen -------------------------------------------------------------------

int keygen(const ParsedArgs& args, std::ostream& out, std::ostream&) {
  auto key = crypto::PrivateKey::generate();
  if (!key) throw BadInput(key.status().message());
  Poco::JSON::Object object(Poco::JSON_PRESERVE_KEY_ORDER);
  const crypto::Secret scalar = key->toBase64Scalar();
  object.set("privateKey", std::string(scalar.view()));
  object.set("publicKey", key->publicKey().toBase64());
  object.stringify(out, args.flag("pretty") ? 2 : 0);
  out << "\n";
  return kExitOk;
}

// --- encrypt / decrypt --------------------------------------------------------

int encryptCommand(const ParsedArgs& args, std::ostream& out, std::ostream&) {
  auto publicKey = crypto::PublicKey::fromBase64(required(args, "public-key"));
  if (!publicKey) throw BadInput("public key " + publicKey.status().message());
  const auto plaintext = args.value("plaintext");
  const auto plaintextFile = args.value("plaintext-file");
  if (plaintext.has_value() == plaintextFile.has_value()) {
    throw UsageError("give exactly one of --plaintext or --plaintext-file");
  }
  auto token = crypto::encrypt(*publicKey, plaintext ? *plaintext : readFile(*plaintextFile));
  if (!token) throw BadInput(token.status().message());
  out << *token << "\n";
  return kExitOk;
}

int decryptCommand(const ParsedArgs& args, std::ostream& out, std::ostream&) {
  const crypto::PrivateKey key = loadPrivateKey(args);
  auto plaintext = crypto::decrypt(key, required(args, "token"));
  if (!plaintext) throw BadInput(plaintext.status().message());
  out << plaintext->view() << "\n";
  return kExitOk;
}

// --- build --------------------------------------------------------------------

protocol::MessageInfo messageInfo(const ParsedArgs& args, const std::string& prefix, const std::string& defaultTitle,
                                  const std::optional<std::string>& imageIdentifier) {
  protocol::MessageInfo info;
  info.title = args.value(prefix + "title").value_or(defaultTitle);
  info.subtitle = args.value(prefix + "subtitle");
  info.style = args.value(prefix + "style");
  info.imageIdentifier = imageIdentifier;
  return info;
}

int build(const ParsedArgs& args, std::ostream& out, std::ostream&) {
  const std::string flowName = required(args, "flow");
  const auto flow = protocol::parseFlow(flowName);
  if (!flow) throw UsageError("--flow must be legacy or v2");

  protocol::AuthenticateRequest request;
  request.id = args.value("id").value_or(crypto::randomUuid());
  request.sourceId = required(args, "business-id");
  request.destinationId = required(args, "customer-id");
  request.locale = args.value("locale");
  request.requestIdentifier = args.value("request-identifier").value_or(crypto::randomUuid());
  request.version = args.value("version").value_or("1.0");
  std::optional<std::string> imageIdentifier;
  if (auto imageFile = args.value("image-file")) {
    request.images.push_back({"1", crypto::base64Encode(readFile(*imageFile)), args.value("image-description")});
    imageIdentifier = "1";
  }
  request.receivedMessage = messageInfo(args, "", "Sign in", imageIdentifier);
  request.replyMessage = messageInfo(args, "reply-", "You signed in", imageIdentifier);
  std::vector<std::string> scopes = args.all("scope");
  if (scopes.empty()) throw UsageError("--scope is required (repeat it for several scopes)");
  const std::string responseType = args.value("response-type").value_or("code");

  // Both flows carry an OAuth state, as Apple's legacy sample does: 128 random bits, URL-safe.
  const std::string state = args.value("state").value_or(crypto::randomUrlToken(16));
  std::optional<crypto::PrivateKey> requestKey;
  if (*flow == protocol::Flow::kLegacy) {
    const auto keyOut = args.value("private-key-out");
    if (!keyOut) throw UsageError("--private-key-out FILE is required for the legacy flow");
    if (args.value("redirect-uri")) throw UsageError("--redirect-uri belongs to the v2 flow");
    auto key = crypto::PrivateKey::generate();
    if (!key) throw BadInput(key.status().message());
    requestKey = std::move(*key);
    request.oauth2 = protocol::LegacyOAuth2{responseType, scopes, requestKey->publicKey().toBase64(),
                                            state, args.value("client-secret")};
  } else {
    if (args.value("private-key-out") || args.value("client-secret")) {
      throw UsageError("--private-key-out and --client-secret belong to the legacy flow");
    }
    protocol::RedirectOAuth2 oauth2{responseType, scopes, state, required(args, "redirect-uri"), std::nullopt};
    if (auto verifierOut = args.value("pkce-verifier-out")) {
      const std::string verifier = crypto::randomUrlToken(32);
      oauth2.additionalParameters = "code_challenge=" + crypto::pkceChallengeS256(verifier) + "&code_challenge_method=S256";
      if (auto extra = args.value("additional-parameters")) *oauth2.additionalParameters += "&" + *extra;
      writePrivateFile(*verifierOut, verifier + "\n");
    } else {
      oauth2.additionalParameters = args.value("additional-parameters");
    }
    request.oauth2 = std::move(oauth2);
  }

  auto message = protocol::AuthenticateMessage::create(std::move(request));
  if (!message) throw BadInput(message.status().toString());
  if (requestKey) {
    const crypto::Secret scalar = requestKey->toBase64Scalar();
    writePrivateFile(*args.value("private-key-out"), std::string(scalar.view()) + "\n");
  }
  out << message->toJsonString(args.flag("pretty")) << "\n";
  return kExitOk;
}

// --- the store's commands (rekey, business, api-key) ----------------------------------------------

// The store --data-dir (SQLite) or --database-url (PostgreSQL) names: exactly one of them.
std::unique_ptr<store::Store> openStore(const ParsedArgs& args) {
  const auto databaseUrl = args.value("database-url");
  const auto dataDir = args.value("data-dir");
  if (databaseUrl.has_value() == dataDir.has_value()) throw UsageError("give exactly one of --data-dir or --database-url");
  return databaseUrl ? store::openPostgresStore(*databaseUrl) : store::openSqliteStore(*dataDir);
}

std::int64_t systemMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The one positional a tenancy command takes after its action, or a usage error.
const std::string& onlyArgument(const ParsedArgs& args, std::size_t count, const char* usage) {
  if (args.positional.size() != count) throw UsageError(usage);
  return args.positional.back();
}

template <typename T>
T orBadInput(Result<T> result) {
  if (!result) throw BadInput(result.status().toString());
  return std::move(*result);
}

// bcauth business add ID [--name NAME] | list
int businessCommand(const ParsedArgs& args, std::ostream& out, std::ostream&) {
  const char* usage = "business takes add ID or list";
  const std::string action = args.positional.empty() ? "" : args.positional.front();
  if (action != "add" && action != "list") throw UsageError(usage);
  if (action == "add") onlyArgument(args, 2, usage);
  if (action == "list") onlyArgument(args, 1, usage);
  auto store = openStore(args);
  const service::Clock clock(systemMillis);
  service::Tenancy tenancy(*store, clock);
  if (action == "add") {
    const auto made = orBadInput(tenancy.createBusiness({args.positional[1], args.value("name").value_or("")}));
    out << "added business " << made.id << "\n";
    return kExitOk;
  }
  for (const auto& b : tenancy.businesses()) out << b.id << "\t" << b.name << "\n";
  return kExitOk;
}

// bcauth api-key create --name NAME [--business-id ID] | list | revoke KEYID
int apiKeyCommand(const ParsedArgs& args, std::ostream& out, std::ostream&) {
  const char* usage = "api-key takes create, list or revoke KEYID";
  const std::string action = args.positional.empty() ? "" : args.positional.front();
  if (action != "create" && action != "list" && action != "revoke") throw UsageError(usage);
  onlyArgument(args, action == "revoke" ? 2 : 1, usage);
  auto store = openStore(args);
  const service::Clock clock(systemMillis);
  service::Tenancy tenancy(*store, clock);
  if (action == "create") {
    const auto made = orBadInput(tenancy.createApiKey({args.value("name").value_or(""), args.value("business-id")}));
    out << made.presented << "\n";  // the only time the key is shown
    return kExitOk;
  }
  if (action == "revoke") {
    if (const Status revoked = tenancy.revokeApiKey(args.positional[1]); !revoked) throw BadInput(revoked.toString());
    out << "revoked API key " << args.positional[1] << "\n";
    return kExitOk;
  }
  for (const auto& k : tenancy.apiKeys()) {
    out << k.id << "\t" << k.businessId.value_or("operator") << "\t" << k.name << "\t"
        << (k.revokedAt ? "revoked" : "active") << "\n";
  }
  return kExitOk;
}

// --- rekey ----------------------------------------------------------------------

std::string readKey(const ParsedArgs& args, const std::string& name) {
  const auto file = args.value(name + "-file");
  if (!file) throw UsageError("--" + name + "-file is required");
  std::string text = readFile(*file);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
  return text;
}

int rekeyCommand(const ParsedArgs& args, std::ostream& out, std::ostream&) {
  std::string oldText = readKey(args, "old-key");
  std::string newText = readKey(args, "new-key");
  auto from = crypto::Sealer::fromBase64Key(oldText);
  // The old key may be a weak one (moving away from it is the point); the new one may not.
  const Status to = checkMasterKey(newText, "new key");
  auto toSealer = crypto::Sealer::fromBase64Key(newText);
  crypto::cleanse(oldText.data(), oldText.size());
  crypto::cleanse(newText.data(), newText.size());
  if (!from) throw BadInput("old key: " + from.status().message());
  if (!to) throw BadInput(to.toString());
  auto store = openStore(args);
  auto count = service::rekey(*store, *from, *toSealer);
  if (!count) throw BadInput(count.status().message());
  out << "re-sealed " << *count << " values under the new master key\n";
  return kExitOk;
}

// --- validate -----------------------------------------------------------------

int validateCommand(const ParsedArgs& args, std::ostream& out, std::ostream& err) {
  if (args.positional.size() != 1) throw UsageError("validate takes one FILE");
  const std::string& file = args.positional.front();
  Poco::Dynamic::Var payload;
  try {
    Poco::JSON::Parser parser;
    payload = parser.parse(readFile(file));
  } catch (const Poco::Exception& e) {
    throw BadInput(file + ": malformed JSON: " + e.message());
  }
  protocol::SchemaKind kind = protocol::detectSchema(payload);
  if (auto name = args.value("schema")) {
    auto chosen = protocol::schemaKindFromName(*name);
    if (!chosen) throw UsageError("--schema must be authenticate-request, authenticate-reply or inbound-message");
    kind = *chosen;
  }
  const auto violations = protocol::validateSchema(kind, payload);
  if (violations.empty()) {
    out << file << ": valid " << protocol::schemaName(kind) << "\n";
    return kExitOk;
  }
  for (const auto& v : violations) out << (v.pointer.empty() ? "/" : v.pointer) << ": " << v.message << "\n";
  err << file << ": " << violations.size() << " violation" << (violations.size() == 1 ? "" : "s") << " of "
      << protocol::schemaName(kind) << "\n";
  return kExitBadInput;
}

// --- inspect ------------------------------------------------------------------

int inspect(const ParsedArgs& args, std::ostream& out, std::ostream&) {
  if (args.positional.size() != 1) throw UsageError("inspect takes one FILE");
  const std::string& file = args.positional.front();
  std::optional<crypto::PrivateKey> key;
  if (args.value("private-key") || args.value("private-key-file")) key = loadPrivateKey(args);

  auto message = protocol::parseInbound(readFile(file));
  if (!message) throw BadInput(file + ": " + message.status().toString());

  auto report = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
  Poco::JSON::Object::Ptr owner(report);
  report->set("id", message->id);
  report->set("type", message->type);
  report->set("sourceId", message->sourceId);
  report->set("destinationId", message->destinationId);
  if (auto header = args.value("capabilities")) {
    Poco::JSON::Array::Ptr list = new Poco::JSON::Array();
    for (const auto& c : protocol::parseCapabilityList(*header)) list->add(c);
    report->set("capabilities", list);
  }

  bool tokenDecrypted = false;
  std::optional<crypto::Secret> plaintext;
  const auto& reply = message->authenticate;
  if (reply) {
    report->set("requestIdentifier", reply->requestIdentifier);
    report->set("flow", std::string(protocol::toString(reply->flow)));
    report->set("status", reply->status);
    if (reply->flow == protocol::Flow::kLegacy && reply->token) {
      if (key) {
        auto opened = crypto::decrypt(*key, *reply->token);
        if (!opened) {
          throw BadInput(file + ": " + opened.status().message() + " (outcome: auth.failed, server_decrypt_error)");
        }
        plaintext = std::move(*opened);
        tokenDecrypted = true;
      } else {
        // Without the key, check what can be checked; the rest is for `--private-key`.
        tokenDecrypted = crypto::checkTokenFormat(*reply->token).isOk();
        report->set("tokenChecked", "format only; pass --private-key to decrypt");
      }
    }
  }
  report->set("outcome", protocol::outcomeForMessage(*message, tokenDecrypted).toJson());
  if (plaintext) report->set("token", std::string(plaintext->view()));
  report->stringify(out, args.flag("compact") ? 0 : 2);
  out << "\n";
  return kExitOk;
}

const std::vector<Command>& commands() {
  static const std::vector<Command> all = {
      {"keygen",
       "Usage: bcauth keygen [--pretty]\n"
       "Makes a fresh P-384 key pair and prints {\"privateKey\": <Base64 of the 48-byte scalar>,\n"
       "\"publicKey\": <Base64 of the 97-byte point 0x04||X||Y, the responseEncryptionKey form>}.\n",
       {{"pretty", false}},
       keygen},
      {"encrypt",
       "Usage: bcauth encrypt --public-key B64 (--plaintext TEXT | --plaintext-file FILE)\n"
       "Encrypts as the customer's device does (ECIES VariableIV X9.63-SHA256 AES-256-GCM on P-384)\n"
       "and prints the token in standard Base64.\n",
       {{"public-key"}, {"plaintext"}, {"plaintext-file"}},
       encryptCommand},
      {"decrypt",
       "Usage: bcauth decrypt (--private-key KEY | --private-key-file FILE) --token B64\n"
       "Decrypts an authenticate.token and prints the plaintext (the access token) and a newline.\n"
       "KEY is the Base64 scalar (48 bytes, or shorter as Apple's sample stores it) or a PEM key.\n"
       "Prefer --private-key-file: command lines are visible to other users of the machine.\n",
       {{"private-key"}, {"private-key-file"}, {"token"}},
       decryptCommand},
      {"build",
       "Usage: bcauth build --flow legacy|v2 --business-id ID --customer-id OPAQUE_ID --scope S [--scope S ...]\n"
       "                    [--request-identifier ID] [--id UUID] [--locale en_US] [--version 1.0]\n"
       "                    [--response-type code|token] [--state STATE]\n"
       "                    [--title T] [--subtitle S] [--style icon|small|large]\n"
       "                    [--reply-title T] [--reply-subtitle S] [--reply-style icon|small|large]\n"
       "                    [--image-file PNG [--image-description TEXT]] [--pretty]\n"
       "  legacy:           --private-key-out FILE [--client-secret SECRET]\n"
       "  v2:               --redirect-uri URL [--pkce-verifier-out FILE] [--additional-parameters QUERY]\n"
       "Prints the JSON body for Apple's POST /v1/authenticate. Legacy makes a fresh request key and\n"
       "writes its private scalar (Base64) to FILE, mode 0600. Both flows get a URL-safe state unless given.\n"
       "With --pkce-verifier-out (v2) it adds a PKCE S256 challenge and writes the verifier to that file.\n"
       "Refuses every message the device would reject, naming the field.\n",
       {{"flow"}, {"business-id"}, {"customer-id"}, {"scope", true, true}, {"request-identifier"}, {"id"},
        {"locale"}, {"version"}, {"response-type"}, {"state"}, {"title"}, {"subtitle"}, {"style"},
        {"reply-title"}, {"reply-subtitle"}, {"reply-style"}, {"image-file"}, {"image-description"},
        {"private-key-out"}, {"client-secret"}, {"redirect-uri"}, {"pkce-verifier-out"},
        {"additional-parameters"}, {"pretty", false}},
       build},
      {"validate",
       "Usage: bcauth validate FILE [--schema authenticate-request|authenticate-reply|inbound-message]\n"
       "Checks FILE against the matching JSON Schema (chosen from its content unless --schema is given).\n"
       "Valid: prints \"FILE: valid SCHEMA\", exit 0. Invalid: prints each violation as\n"
       "\"JSON-POINTER: message\" on stdout and a summary line on stderr, exit 1.\n",
       {{"schema"}},
       validateCommand},
      {"rekey",
       "Usage: bcauth rekey --old-key-file FILE --new-key-file FILE (--data-dir DIR | --database-url URL)\n"
       "Rotates the master key: opens every sealed value (provider and webhook secrets, request keys and\n"
       "tokens, messages queued for Apple) with the old key and seals it with the new one, in one\n"
       "transaction — all or nothing. Stop every bcauth instance first, then start them with the new key.\n",
       {{"old-key-file"}, {"new-key-file"}, {"data-dir"}, {"database-url"}},
       rekeyCommand},
      {"business",
       "Usage: bcauth business (add ID [--name NAME] | list) (--data-dir DIR | --database-url URL)\n"
       "Adds a business (a tenant, by Apple's business id: the destination-id of its messages) to the\n"
       "store, or lists them as ID<TAB>NAME lines. Works next to running servers.\n",
       {{"name"}, {"data-dir"}, {"database-url"}},
       businessCommand},
      {"api-key",
       "Usage: bcauth api-key (create --name NAME [--business-id ID] | list | revoke KEYID)\n"
       "                      (--data-dir DIR | --database-url URL)\n"
       "create prints the new key, bcak_<keyid>_<secret>, alone on stdout: the only time it is shown\n"
       "(the store keeps only the SHA-256 of the secret). Without --business-id it is an operator key.\n"
       "list prints KEYID<TAB>BUSINESS|operator<TAB>NAME<TAB>active|revoked lines; revoke stops a key\n"
       "at once on every server sharing the store.\n",
       {{"name"}, {"business-id"}, {"data-dir"}, {"database-url"}},
       apiKeyCommand},
      {"inspect",
       "Usage: bcauth inspect FILE [--private-key KEY | --private-key-file FILE] [--capabilities LIST] [--compact]\n"
       "Parses an inbound message from Apple (JSON, as delivered after gunzip) and prints its envelope,\n"
       "the authenticate reply's status and flow, and the outcome bcauth maps it to (event, reason,\n"
       "retryable, alertOps, device error). With a key, a legacy token is decrypted and printed as \"token\";\n"
       "a token that does not decrypt exits 1. --capabilities parses a capability-list header.\n",
       {{"private-key"}, {"private-key-file"}, {"capabilities"}, {"compact", false}},
       inspect},
  };
  return all;
}

}  // namespace

int runCli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.empty()) {
    err << kUsage;
    return kExitUsage;
  }
  if (args.front() == "--help" || args.front() == "-h" || args.front() == "help") {
    out << kUsage;
    return kExitOk;
  }
  if (args.front() == "serve") return runServe(std::vector<std::string>(args.begin() + 1, args.end()));
  if (args.front() == "demo") return demo::runDemoCommand(std::vector<std::string>(args.begin() + 1, args.end()), out, err);
  if (args.front() == "replay") return runReplay(std::vector<std::string>(args.begin() + 1, args.end()), out, err);
  const Command* command = nullptr;
  for (const auto& c : commands()) {
    if (args.front() == c.name) command = &c;
  }
  if (command == nullptr) {
    err << "bcauth: unknown command '" << args.front() << "'; run `bcauth --help`\n";
    return kExitUsage;
  }
  try {
    const ParsedArgs parsed = parseArgs(std::vector<std::string>(args.begin() + 1, args.end()), command->options);
    if (parsed.help) {
      out << command->help;
      return kExitOk;
    }
    // Build everything first: on failure nothing may have reached stdout.
    std::ostringstream buffered;
    const int code = command->run(parsed, buffered, err);
    out << buffered.str();
    return code;
  } catch (const UsageError& e) {
    err << "bcauth " << command->name << ": " << e.what() << " (see `bcauth " << command->name << " --help`)\n";
    return kExitUsage;
  } catch (const BadInput& e) {
    err << "bcauth " << command->name << ": " << e.what() << "\n";
    return kExitBadInput;
  } catch (const std::exception& e) {
    err << "bcauth " << command->name << ": " << e.what() << "\n";
    return kExitBadInput;
  }
}

}  // namespace bcauth::app
