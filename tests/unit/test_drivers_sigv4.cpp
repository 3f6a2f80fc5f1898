// SigV4 against the published known answers: every case of the AWS test suite and
// the EC2/IAM signed requests (tests/vectors, copied from the given vectors).
#include "drivers/amazonec2/sigv4.h"
#include "core/digest.h"

#include "tests/fakes/vectors.h"

#include <catch2/catch.hpp>
#include <filesystem>

namespace fs = std::filesystem;

namespace {

const fs::path k_vectors = fs::path(DM_VECTORS_DIR);

std::string percent_decoded(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      out += static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

// A .req file: request line (the target may hold a raw space), headers with folded
// continuation lines, then the body after a blank line.
dm::aws::SigV4Request parse_req(const std::string& text) {
  dm::aws::SigV4Request request;
  auto blank = text.find("\n\n");
  std::string head = blank == std::string::npos ? text : text.substr(0, blank);
  request.body = blank == std::string::npos ? "" : text.substr(blank + 2);
  std::istringstream lines(head);
  std::string line;
  std::getline(lines, line);
  request.method = line.substr(0, line.find(' '));
  std::string target = line.substr(line.find(' ') + 1, line.rfind(' ') - line.find(' ') - 1);
  auto question = target.find('?');
  request.path = target.substr(0, question);
  if (question != std::string::npos) {
    std::istringstream pairs(target.substr(question + 1));
    std::string pair;
    while (std::getline(pairs, pair, '&')) {
      auto eq = pair.find('=');
      request.query.emplace_back(percent_decoded(pair.substr(0, eq)),
                                 eq == std::string::npos ? "" : percent_decoded(pair.substr(eq + 1)));
    }
  }
  while (std::getline(lines, line)) {
    if (line.empty()) {
      continue;
    }
    if (line[0] == ' ' || line[0] == '\t') {
      request.headers.back().second += " " + line;
      continue;
    }
    auto colon = line.find(':');
    request.headers.emplace_back(line.substr(0, colon), line.substr(colon + 1));
  }
  return request;
}

std::string header_value(const dm::aws::SigV4Request& request, const std::string& name) {
  for (const auto& [key, value] : request.headers) {
    if (key == name) {
      return value;
    }
  }
  return "";
}

struct Case {
  fs::path dir;
  std::string name;
};

std::vector<Case> cases_under(const fs::path& root) {
  std::vector<Case> cases;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (entry.path().extension() == ".req") {
      cases.push_back({entry.path().parent_path(), entry.path().stem().string()});
    }
  }
  std::sort(cases.begin(), cases.end(), [](const Case& a, const Case& b) { return a.dir < b.dir; });
  return cases;
}

// Signs one case as its README says and compares all three answers.
void check_case(const Case& c, const std::string& region, const std::string& service) {
  auto request = parse_req(dm::testing::read_bytes(c.dir / (c.name + ".req")));
  const std::string creq = dm::testing::read_bytes(c.dir / (c.name + ".creq"));
  dm::aws::AwsCredentials credentials{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};
  // Session credentials: the token the canonical request signs but the request lacks.
  const std::string token_line = "\nx-amz-security-token:";
  if (auto at = creq.find(token_line); at != std::string::npos &&
                                        header_value(request, "X-Amz-Security-Token").empty()) {
    auto from = at + token_line.size();
    credentials.session_token = creq.substr(from, creq.find('\n', from) - from);
  }
  dm::aws::SigV4Scope scope{region, service, header_value(request, "X-Amz-Date")};
  auto signature = dm::aws::sigv4_sign(request, credentials, scope);
  INFO("case " << c.dir.string());
  CHECK(signature.canonical_request == creq);
  CHECK(signature.string_to_sign == dm::testing::read_bytes(c.dir / (c.name + ".sts")));
  CHECK(signature.authorization == dm::testing::read_bytes(c.dir / (c.name + ".authz")));
}

} // namespace

TEST_CASE("SigV4 passes every case of the AWS test suite", "[sigv4]") {
  auto cases = cases_under(k_vectors / "sigv4");
  REQUIRE(cases.size() == 34);
  for (const auto& c : cases) {
    check_case(c, "us-east-1", "service");
  }
}

TEST_CASE("SigV4 signs EC2 and IAM Query requests as the published examples", "[sigv4]") {
  auto cases = cases_under(k_vectors / "ec2" / "signed-requests");
  REQUIRE(cases.size() == 4);
  for (const auto& c : cases) {
    check_case(c, "us-east-1", c.name.rfind("iam-", 0) == 0 ? "iam" : "ec2");
  }
}

TEST_CASE("SigV4 derives the signing key of the suite", "[sigv4]") {
  dm::aws::SigV4Scope scope{"us-east-1", "service", "20150830T123600Z"};
  CHECK(dm::hex_lower(dm::aws::sigv4_signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                                 scope)) ==
        "938127b5336810ddb6a5d6af445fcac9e371f9ed418ed386b022aed82901be75");
}

TEST_CASE("SigV4 adds the date and a session token it was not given", "[sigv4]") {
  dm::aws::SigV4Request request;
  request.headers = {{"Host", "ec2.eu-west-1.amazonaws.com"},
                     {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
  request.body = "Action=DescribeInstances&Version=2016-11-15";
  dm::aws::AwsCredentials credentials{"AKIDEXAMPLE", "secret", "token=="};
  auto signature = dm::aws::sigv4_sign(request, credentials,
                                       {"eu-west-1", "ec2", dm::aws::amz_date_of(1440938160)});
  REQUIRE(signature.added_headers.size() == 2);
  CHECK(signature.added_headers[0] == std::pair<std::string, std::string>{"X-Amz-Date", "20150830T123600Z"});
  CHECK(signature.added_headers[1].first == "X-Amz-Security-Token");
  CHECK(signature.authorization.find("SignedHeaders=content-type;host;x-amz-date;x-amz-security-token") !=
        std::string::npos);
  CHECK(signature.authorization.find("Credential=AKIDEXAMPLE/20150830/eu-west-1/ec2/aws4_request") !=
        std::string::npos);
  CHECK(signature.authorization.find("secret") == std::string::npos);
}

TEST_CASE("SigV4 encodes as RFC 3986 with upper-case hex", "[sigv4]") {
  using dm::aws::KeepSlash;
  CHECK(dm::aws::sigv4_encode("AZaz09-._~", KeepSlash::no) == "AZaz09-._~");
  CHECK(dm::aws::sigv4_encode("a b+c/d=\xe1\x88\xb4", KeepSlash::no) == "a%20b%2Bc%2Fd%3D%E1%88%B4");
  CHECK(dm::aws::sigv4_encode("/a b/", KeepSlash::yes) == "/a%20b/");
}
