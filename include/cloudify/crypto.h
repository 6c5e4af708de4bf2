// Password hashing and secret encryption, on OpenSSL.
//
// Passwords are stored only as salted PBKDF2-HMAC-SHA256 hashes in the form of
// model::User::password_hash: "pbkdf2_sha256$<iterations>$<salt, base64>$<hash, base64>".
// Secrets are encrypted with AES-256-GCM under a 32-byte key kept in a key file; the sealed form
// is "v1:" + base64(12-byte nonce || ciphertext || 16-byte tag), so tampering is detected.
//
// Thread-safety: every function is safe to call from any thread. No exception escapes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "cloudify/status.h"

namespace cloudify {

struct PasswordHashOptions {
  // PBKDF2 rounds. Default: 100000 (tests may lower it to stay fast).
  int iterations = 100000;
  // Random salt length in bytes. Default: 16.
  int salt_bytes = 16;
};

// A fresh salted hash of `password`. kInternal only when OpenSSL's RNG fails.
Result<std::string> HashPassword(std::string_view password,
                                 const PasswordHashOptions& options = {});
// True when `password` matches `hash` (compared in constant time); false for a wrong password
// or a malformed hash.
bool VerifyPassword(std::string_view password, std::string_view hash);
// True when `text` has the "pbkdf2_sha256$..." form (so a clear password is never stored).
bool IsPasswordHash(std::string_view text);

// A 32-byte AES-256 key. Copyable value; treat it as secret.
class SecretKey {
 public:
  static constexpr size_t kSize = 32;

  // A fresh random key. kInternal when the RNG fails.
  static Result<SecretKey> Generate();
  // The key in `path`, creating the file (mode 0600, and its directory) with a fresh key when
  // it does not exist. kStorageError when the file cannot be read/created or holds no valid key.
  static Result<SecretKey> LoadOrCreate(const std::filesystem::path& path);
  // From exactly kSize raw bytes; kBadParameters otherwise.
  static Result<SecretKey> FromBytes(std::string_view bytes);

  // "v1:<base64>" sealing `plaintext` under a random nonce. kInternal on an OpenSSL failure.
  Result<std::string> Encrypt(std::string_view plaintext) const;
  // The plaintext of Encrypt's output. kStorageError when the text is malformed, was sealed
  // under another key or was altered.
  Result<std::string> Decrypt(std::string_view sealed) const;

 private:
  SecretKey() = default;
  std::string bytes_;
};

// SHA-256 of `bytes` as 64 lowercase hex characters (API token secrets are stored this way).
std::string Sha256Hex(std::string_view bytes);
// `length` characters drawn uniformly from [A-Za-z0-9] with OpenSSL's RNG (token ids and
// secrets). kInternal when the RNG fails.
Result<std::string> RandomAlphanumeric(size_t length);

// Standard base64 with padding (OpenSSL EVP_EncodeBlock/DecodeBlock).
std::string Base64Encode(std::string_view bytes);
// kBadParameters on text that is not base64.
Result<std::string> Base64Decode(std::string_view text);

}  // namespace cloudify
