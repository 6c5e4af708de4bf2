#include "cloudify/crypto.h"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <memory>
#include <system_error>
#include <vector>

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

namespace cloudify {
namespace {

constexpr std::string_view kHashScheme = "pbkdf2_sha256";
constexpr std::string_view kSealPrefix = "v1:";
constexpr int kNonceBytes = 12;
constexpr int kTagBytes = 16;
constexpr int kHashBytes = 32;

bool RandomBytes(std::string& out, size_t n) {
  out.assign(n, '\0');
  return RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) == 1;
}

Result<std::string> Pbkdf2(std::string_view password, std::string_view salt, int iterations) {
  std::string out(kHashBytes, '\0');
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                        reinterpret_cast<const unsigned char*>(salt.data()),
                        static_cast<int>(salt.size()), iterations, EVP_sha256(), kHashBytes,
                        reinterpret_cast<unsigned char*>(out.data())) != 1) {
    return InternalError("PBKDF2 failed");
  }
  return out;
}

struct CtxFree {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CtxFree>;

unsigned char* U(std::string& s) { return reinterpret_cast<unsigned char*>(s.data()); }
const unsigned char* U(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// The parts of "pbkdf2_sha256$<iterations>$<salt>$<hash>"; false when malformed.
struct ParsedHash {
  int iterations = 0;
  std::string salt;
  std::string hash;
};
bool ParseHash(std::string_view text, ParsedHash& out) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t at = text.find('$', start);
    parts.push_back(text.substr(start, at == std::string_view::npos ? at : at - start));
    if (at == std::string_view::npos) {
      break;
    }
    start = at + 1;
  }
  if (parts.size() != 4 || parts[0] != kHashScheme) {
    return false;
  }
  auto [ptr, ec] =
      std::from_chars(parts[1].data(), parts[1].data() + parts[1].size(), out.iterations);
  if (ec != std::errc() || ptr != parts[1].data() + parts[1].size() || out.iterations <= 0) {
    return false;
  }
  Result<std::string> salt = Base64Decode(parts[2]);
  Result<std::string> hash = Base64Decode(parts[3]);
  if (!salt.ok() || !hash.ok() || salt->empty() || hash->size() != kHashBytes) {
    return false;
  }
  out.salt = std::move(salt).value();
  out.hash = std::move(hash).value();
  return true;
}

}  // namespace

std::string Sha256Hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0xf];
  }
  return out;
}

Result<std::string> RandomAlphanumeric(size_t length) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::string out;
  out.reserve(length);
  std::string random;
  while (out.size() < length) {
    if (!RandomBytes(random, length)) {
      return InternalError("the random number generator failed");
    }
    for (unsigned char c : random) {
      // 62 * 4 = 248: bytes from 248 up are dropped so every character is equally likely.
      if (c < 248 && out.size() < length) {
        out += kAlphabet[c % kAlphabet.size()];
      }
    }
  }
  return out;
}

std::string Base64Encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(U(out), U(bytes), static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

Result<std::string> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) {
    return BadParametersError("base64 text length is not a multiple of 4");
  }
  std::string out(3 * text.size() / 4, '\0');
  int n = EVP_DecodeBlock(U(out), U(text), static_cast<int>(text.size()));
  if (n < 0) {
    return BadParametersError("text is not base64");
  }
  // EVP_DecodeBlock counts the padding as zero bytes.
  size_t padding = 0;
  if (!text.empty() && text.back() == '=') {
    padding = (text.size() >= 2 && text[text.size() - 2] == '=') ? 2 : 1;
  }
  out.resize(static_cast<size_t>(n) - padding);
  return out;
}

Result<std::string> HashPassword(std::string_view password, const PasswordHashOptions& options) {
  if (options.iterations <= 0 || options.salt_bytes <= 0) {
    return BadParametersError("password hash iterations and salt length must be positive");
  }
  std::string salt;
  if (!RandomBytes(salt, static_cast<size_t>(options.salt_bytes))) {
    return InternalError("OpenSSL's random generator failed");
  }
  CLOUDIFY_ASSIGN_OR_RETURN(std::string hash, Pbkdf2(password, salt, options.iterations));
  return std::string(kHashScheme) + "$" + std::to_string(options.iterations) + "$" +
         Base64Encode(salt) + "$" + Base64Encode(hash);
}

bool VerifyPassword(std::string_view password, std::string_view hash) {
  ParsedHash parsed;
  if (!ParseHash(hash, parsed)) {
    return false;
  }
  Result<std::string> computed = Pbkdf2(password, parsed.salt, parsed.iterations);
  return computed.ok() && CRYPTO_memcmp(computed->data(), parsed.hash.data(), kHashBytes) == 0;
}

bool IsPasswordHash(std::string_view text) {
  ParsedHash parsed;
  return ParseHash(text, parsed);
}

Result<SecretKey> SecretKey::Generate() {
  SecretKey key;
  if (!RandomBytes(key.bytes_, kSize)) {
    return InternalError("OpenSSL's random generator failed");
  }
  return key;
}

Result<SecretKey> SecretKey::FromBytes(std::string_view bytes) {
  if (bytes.size() != kSize) {
    return BadParametersError("a secret key is " + std::to_string(kSize) + " bytes, got " +
                              std::to_string(bytes.size()));
  }
  SecretKey key;
  key.bytes_ = std::string(bytes);
  return key;
}

Result<SecretKey> SecretKey::LoadOrCreate(const std::filesystem::path& path) {
  auto storage_error = [&](const std::string& what) {
    return Status(ErrorCode::kStorageError, "secret key file `" + path.string() + "`: " + what);
  };
  std::error_code ec;
  if (path.has_parent_path()) {
    std::filesystem::create_directories(path.parent_path(), ec);
    if (ec) {
      return storage_error("cannot create its directory: " + ec.message());
    }
  }
  // O_EXCL: of two processes opening a new store at once, one creates the key, the other reads it.
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    Result<SecretKey> key = Generate();
    if (!key.ok()) {
      ::close(fd);
      return key.status();
    }
    std::string text = Base64Encode(key->bytes_) + "\n";
    bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                   ::fsync(fd) == 0;
    ::close(fd);
    if (!written) {
      return storage_error("cannot write a new key");
    }
    return key;
  }
  if (errno != EEXIST) {
    return storage_error(std::strerror(errno));
  }
  fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return storage_error(std::strerror(errno));
  }
  std::string text(256, '\0');
  ssize_t n = ::read(fd, text.data(), text.size());
  ::close(fd);
  if (n <= 0) {
    return storage_error("empty or unreadable (was it being created concurrently?)");
  }
  text.resize(static_cast<size_t>(n));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.pop_back();
  }
  Result<std::string> bytes = Base64Decode(text);
  if (!bytes.ok() || bytes->size() != kSize) {
    return storage_error("does not hold a base64 " + std::to_string(kSize) + "-byte key");
  }
  return FromBytes(*bytes);
}

Result<std::string> SecretKey::Encrypt(std::string_view plaintext) const {
  std::string nonce;
  if (!RandomBytes(nonce, kNonceBytes)) {
    return InternalError("OpenSSL's random generator failed");
  }
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  std::string out = nonce;
  out.resize(kNonceBytes + plaintext.size() + kTagBytes);
  int len = 0;
  int total = 0;
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceBytes, nullptr) != 1 ||
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, U(std::string_view(bytes_)), U(nonce)) != 1 ||
      EVP_EncryptUpdate(ctx.get(), U(out) + kNonceBytes, &len, U(plaintext),
                        static_cast<int>(plaintext.size())) != 1) {
    return InternalError("AES-256-GCM encryption failed");
  }
  total = len;
  if (EVP_EncryptFinal_ex(ctx.get(), U(out) + kNonceBytes + total, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes,
                          U(out) + kNonceBytes + total + len) != 1) {
    return InternalError("AES-256-GCM encryption failed");
  }
  return std::string(kSealPrefix) + Base64Encode(out);
}

Result<std::string> SecretKey::Decrypt(std::string_view sealed) const {
  auto corrupt = [](const std::string& why) {
    return Status(ErrorCode::kStorageError, "cannot decrypt a secret value: " + why);
  };
  if (sealed.substr(0, kSealPrefix.size()) != kSealPrefix) {
    return corrupt("unknown format");
  }
  Result<std::string> raw = Base64Decode(sealed.substr(kSealPrefix.size()));
  if (!raw.ok() || raw->size() < static_cast<size_t>(kNonceBytes + kTagBytes)) {
    return corrupt("malformed");
  }
  std::string_view data = *raw;
  std::string_view nonce = data.substr(0, kNonceBytes);
  std::string_view cipher = data.substr(kNonceBytes, data.size() - kNonceBytes - kTagBytes);
  std::string tag(data.substr(data.size() - kTagBytes));
  std::string out(cipher.size(), '\0');
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  if (!ctx || EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceBytes, nullptr) != 1 ||
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, U(std::string_view(bytes_)), U(nonce)) != 1 ||
      EVP_DecryptUpdate(ctx.get(), U(out), &len, U(cipher), static_cast<int>(cipher.size())) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, tag.data()) != 1) {
    return corrupt("OpenSSL failure");
  }
  int tail = 0;
  if (EVP_DecryptFinal_ex(ctx.get(), U(out) + len, &tail) != 1) {
    return corrupt("authentication failed (wrong key or altered data)");
  }
  out.resize(static_cast<size_t>(len + tail));
  return out;
}

}  // namespace cloudify
