#include "cloudify/crypto.h"

#include <fstream>
#include <set>

#include <doctest/doctest.h>
#include <sys/stat.h>

#include "support/temp_dir.h"

namespace cloudify {
namespace {

PasswordHashOptions Fast() {
  PasswordHashOptions options;
  options.iterations = 1000;
  return options;
}

TEST_CASE("password hashes are salted PBKDF2-SHA256 in the documented form") {
  auto a = HashPassword("s3cret", Fast());
  auto b = HashPassword("s3cret", Fast());
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(a->rfind("pbkdf2_sha256$1000$", 0) == 0);
  CHECK(*a != *b);  // different salts
  CHECK(a->find("s3cret") == std::string::npos);
  CHECK(VerifyPassword("s3cret", *a));
  CHECK(VerifyPassword("s3cret", *b));
  CHECK_FALSE(VerifyPassword("s3cret!", *a));
  CHECK_FALSE(VerifyPassword("", *a));
  CHECK(IsPasswordHash(*a));
  CHECK_FALSE(IsPasswordHash("s3cret"));
  CHECK_FALSE(IsPasswordHash("pbkdf2_sha256$x$abc$def"));
  CHECK_FALSE(VerifyPassword("s3cret", "pbkdf2_sha256$1000$!!!!$AAAA"));
  CHECK(HashPassword("x", {0, 16}).status().code() == ErrorCode::kBadParameters);
}

TEST_CASE("a known PBKDF2-HMAC-SHA256 vector verifies") {
  // RFC 7914 §11: P="passwd", S="salt", c=1, dkLen=64; the first 32 bytes.
  std::string hash = "pbkdf2_sha256$1$" + Base64Encode("salt") + "$" +
                     "VawEblbjCJ/sFpHCJUS2BflBhSFt3gRl5oudV8INrLw=";
  CHECK(VerifyPassword("passwd", hash));
  CHECK_FALSE(VerifyPassword("passwe", hash));
}

TEST_CASE("base64 round-trips every length") {
  for (size_t n = 0; n < 10; ++n) {
    std::string bytes(n, '\xff');
    auto back = Base64Decode(Base64Encode(bytes));
    REQUIRE(back.ok());
    CHECK(*back == bytes);
  }
  CHECK(Base64Encode("hello") == "aGVsbG8=");
  CHECK(Base64Decode("abc").status().code() == ErrorCode::kBadParameters);
}

TEST_CASE("AES-256-GCM sealing: round trip, fresh nonces, tamper and wrong-key detection") {
  auto key = SecretKey::Generate();
  auto other = SecretKey::Generate();
  REQUIRE(key.ok());
  REQUIRE(other.ok());
  auto sealed = key->Encrypt("the value");
  auto sealed2 = key->Encrypt("the value");
  REQUIRE(sealed.ok());
  REQUIRE(sealed2.ok());
  CHECK(*sealed != *sealed2);
  CHECK(sealed->rfind("v1:", 0) == 0);
  CHECK(*key->Decrypt(*sealed) == "the value");
  CHECK(*key->Decrypt(*key->Encrypt("")) == "");
  CHECK(other->Decrypt(*sealed).status().code() == ErrorCode::kStorageError);
  std::string raw = *Base64Decode(sealed->substr(3));
  raw[14] = static_cast<char>(raw[14] ^ 1);
  CHECK(key->Decrypt("v1:" + Base64Encode(raw)).status().code() == ErrorCode::kStorageError);
  CHECK(key->Decrypt("plain").status().code() == ErrorCode::kStorageError);
  CHECK(key->Decrypt("v1:AAAA").status().code() == ErrorCode::kStorageError);
  CHECK(SecretKey::FromBytes("short").status().code() == ErrorCode::kBadParameters);
}

TEST_CASE("the key file is created once with mode 0600 and read back after") {
  testing::TempDir dir;
  auto path = dir.path() / "sub" / "secret.key";
  auto first = SecretKey::LoadOrCreate(path);
  REQUIRE(first.ok());
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto second = SecretKey::LoadOrCreate(path);
  REQUIRE(second.ok());
  CHECK(*second->Decrypt(*first->Encrypt("x")) == "x");
  {
    std::ofstream out(dir.path() / "bad.key");
    out << "garbage";
  }
  CHECK(SecretKey::LoadOrCreate(dir.path() / "bad.key").status().code() ==
        ErrorCode::kStorageError);
}

TEST_CASE("Sha256Hex gives the standard digest in lowercase hex") {
  CHECK(Sha256Hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(Sha256Hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("RandomAlphanumeric gives the length asked for, from [A-Za-z0-9], never repeating") {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    auto token = RandomAlphanumeric(40);
    REQUIRE(token.ok());
    CHECK(token->size() == 40);
    for (char c : *token) {
      CHECK(((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')));
    }
    seen.insert(*token);
  }
  CHECK(seen.size() == 100);
  CHECK(RandomAlphanumeric(0)->empty());
}

}  // namespace
}  // namespace cloudify

namespace cloudify {
namespace {

TEST_CASE("random hex tokens are fresh and compared in constant time") {
  auto a = RandomHexToken(32);
  auto b = RandomHexToken(32);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(a->size() == 64);
  CHECK(a->find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(*a != *b);
  CHECK(RandomHexToken(4)->size() == 8);
  CHECK(ConstantTimeEquals(*a, std::string(*a)));
  CHECK_FALSE(ConstantTimeEquals(*a, *b));
  CHECK_FALSE(ConstantTimeEquals(*a, a->substr(1)));
  CHECK_FALSE(ConstantTimeEquals(*a, ""));
  CHECK(ConstantTimeEquals("", ""));
}

}  // namespace
}  // namespace cloudify
