#include "core/scp_protocol.h"

#include <catch2/catch.hpp>

using dm::parse_scp_record;
using dm::ScpRecordKind;

TEST_CASE("scp records: files, directories, end, times, messages", "[scp]") {
  auto file = parse_scp_record("C0644 5 notes.txt");
  REQUIRE(file);
  CHECK(file->kind == ScpRecordKind::file);
  CHECK(file->mode == 0644);
  CHECK(file->size == 5);
  CHECK(file->text == "notes.txt");

  auto spaced = parse_scp_record("C0600 12 a name with spaces");
  REQUIRE(spaced);
  CHECK(spaced->text == "a name with spaces");

  auto directory = parse_scp_record("D0755 0 tree");
  REQUIRE(directory);
  CHECK(directory->kind == ScpRecordKind::directory);
  CHECK(directory->mode == 0755);

  CHECK(parse_scp_record("E")->kind == ScpRecordKind::end_directory);
  CHECK(parse_scp_record("T1700000000 0 1700000000 0")->kind == ScpRecordKind::times);

  auto warning = parse_scp_record("\1scp: /nope: No such file or directory");
  REQUIRE(warning);
  CHECK(warning->kind == ScpRecordKind::warning);
  CHECK(warning->text == "scp: /nope: No such file or directory");
  CHECK(parse_scp_record("\2fatal")->kind == ScpRecordKind::fatal);

  auto big = parse_scp_record("C0644 10737418240 big.img");
  REQUIRE(big);
  CHECK(big->size == 10737418240ULL);
}

TEST_CASE("scp records: names that leave the target are refused (CVE-2019-6111)", "[scp]") {
  for (const char* line : {"C0644 5 ../evil", "C0644 5 /etc/passwd", "C0644 5 ..", "C0644 5 .",
                           "C0644 5 ", "D0755 0 ..", "D0755 0 a/b", "D0755 0 /", "C0644 5 x/..",
                           "D0755 0 ../../root/.ssh"}) {
    auto record = parse_scp_record(line);
    INFO(line);
    REQUIRE_FALSE(record);
    CHECK(record.error().message.find("unsafe file name") != std::string::npos);
  }
  // A name that only looks odd is still one component.
  CHECK(parse_scp_record("C0644 1 ..hidden"));
  CHECK(parse_scp_record("C0644 1 a..b"));
}

TEST_CASE("scp records: malformed headers are errors, never crashes", "[scp]") {
  for (const char* line : {"", "C", "C0644", "C0644 ", "C0644 5", "C0644 x name", "C06445 name",
                           "C9999 5 name", "C0644 -5 name", "C0644 5x name", "E extra", "X0644 5 a",
                           "C0644  name", "C064 5 name"}) {
    INFO(line);
    CHECK_FALSE(parse_scp_record(line));
  }
  auto control = parse_scp_record(std::string("Q\x1b[2J", 5));
  REQUIRE_FALSE(control);
  CHECK(control.error().message.find("\\x1b") != std::string::npos);
}

TEST_CASE("scp records: what dmachine sends", "[scp]") {
  CHECK(dm::scp_file_record(0644, 5, "a.txt") == "C0644 5 a.txt\n");
  CHECK(dm::scp_file_record(0100755, 0, "run") == "C0755 0 run\n");
  CHECK(dm::scp_directory_record(0700, "d") == "D0700 0 d\n");
  CHECK(dm::is_safe_scp_name("a"));
  CHECK_FALSE(dm::is_safe_scp_name("a\nb"));
  CHECK_FALSE(dm::is_safe_scp_name(std::string("a\0b", 3)));
}
