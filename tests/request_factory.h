// Valid authenticate requests for tests to start from and break one field at a time.
#pragma once

#include "bcauth/crypto.h"
#include "bcauth/protocol.h"

namespace bcauth::test {

inline protocol::AuthenticateRequest legacyRequest() {
  protocol::AuthenticateRequest r;
  r.id = "7f6d3e0c-2c1b-4b7a-9d0e-1a2b3c4d5e6f";
  r.sourceId = "a884eddf-7a4c-4d2b-8f3e-0b1c2d3e4f50";
  r.destinationId = "urn:mbid:AQAAYyUbut6E4B3T9FLv5EbG/abc+def=";
  r.requestIdentifier = "3EF748B5-3DC5-47AE-B185-91E91518D105";
  r.receivedMessage.title = "Sign in to Example";
  r.replyMessage.title = "You signed in";
  r.oauth2 = protocol::LegacyOAuth2{"code", {"openid", "email"},
                                    crypto::PrivateKey::generate().value().publicKey().toBase64(), "st-123",
                                    "client-secret-xyz"};
  return r;
}

inline protocol::AuthenticateRequest v2Request() {
  protocol::AuthenticateRequest r = legacyRequest();
  r.oauth2 = protocol::RedirectOAuth2{"code", {"openid", "profile"}, "N9ziSgOruWOoW2fwRsG_xA",
                                      "https://bcauth.example.com/oauth/callback",
                                      "code_challenge=HFDAVtoqS24hcGwzlKBih9fS7EFB7p53I4RR64KaQhk&code_challenge_method=S256"};
  return r;
}

inline protocol::LegacyOAuth2& legacy(protocol::AuthenticateRequest& r) { return std::get<protocol::LegacyOAuth2>(r.oauth2); }
inline protocol::RedirectOAuth2& redirect(protocol::AuthenticateRequest& r) {
  return std::get<protocol::RedirectOAuth2>(r.oauth2);
}

}  // namespace bcauth::test
