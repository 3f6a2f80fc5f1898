// EC2 calls: the signed POST matches the published signed request, and retries
// are bounded and happen only for throttling, server and connection errors.
#include "drivers/amazonec2/ec2_api.h"
#include "tests/fakes/recording_http_client.h"

#include "tests/fakes/vectors.h"

#include <catch2/catch.hpp>
#include <filesystem>

namespace fs = std::filesystem;
using namespace dm::aws;

namespace {

const fs::path k_signed = fs::path(DM_VECTORS_DIR) / "ec2" / "signed-requests";

const AwsCredentials k_credentials{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};

std::string error_document(const std::string& code, const std::string& message) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>" + code +
         "</Code><Message>" + message + "</Message></Error></Errors><RequestID>r-1</RequestID>"
         "</Response>";
}

struct Harness {
  dm::testing::RecordingHttpClient http;
  std::vector<long long> waits_ms;
  long long clock = 1440938160; // 2015-08-30T12:36:00Z
  Ec2Caller caller{http,
                   *ec2_endpoint("us-east-1", "", InsecureTransport::no),
                   k_credentials,
                   RetryPolicy{},
                   [this] { return clock; },
                   [this](std::chrono::milliseconds wait) {
                     waits_ms.push_back(wait.count());
                     clock += wait.count() / 1000 + 1;
                   },
                   [] { return 0.5; }};
};

} // namespace

TEST_CASE("an EC2 call is the published signed RunInstances request", "[ec2_api]") {
  auto endpoint = ec2_endpoint("us-east-1", "", InsecureTransport::no);
  REQUIRE(endpoint);
  CHECK(endpoint->url == "https://ec2.us-east-1.amazonaws.com/");
  const Pairs params = {{"ImageId", "ami-0abcdef1234567890"},
                        {"InstanceType", "t3.micro"},
                        {"MinCount", "1"},
                        {"MaxCount", "1"},
                        {"KeyName", "my-key"},
                        {"SecurityGroupId.1", "sg-0123456789abcdef0"},
                        {"SubnetId", "subnet-0123456789abcdef0"},
                        {"UserData", "IyEvYmluL2Jhc2gKZWNobyBoaQ=="},
                        {"TagSpecification.1.ResourceType", "instance"},
                        {"TagSpecification.1.Tag.1.Key", "Name"},
                        {"TagSpecification.1.Tag.1.Value", "web server 1"}};
  auto request = ec2_request(*endpoint, "RunInstances", params, k_credentials, "20150830T123600Z");
  const fs::path dir = k_signed / "ec2-run-instances-post";
  const std::string req = dm::testing::read_bytes(dir / "ec2-run-instances-post.req");
  CHECK(request.method == "POST");
  CHECK(request.body == req.substr(req.find("\n\n") + 2));
  CHECK(request.headers.at("Authorization") == dm::testing::read_bytes(dir / "ec2-run-instances-post.authz"));
  CHECK(request.headers.at("Host") == "ec2.us-east-1.amazonaws.com");
}

TEST_CASE("the EC2 endpoint is checked", "[ec2_api]") {
  CHECK_FALSE(ec2_endpoint("US East", "", InsecureTransport::no));
  CHECK_FALSE(ec2_endpoint("us-east-1", "http://127.0.0.1:9000", InsecureTransport::no));
  auto local = ec2_endpoint("us-east-1", "http://127.0.0.1:9000", InsecureTransport::yes);
  REQUIRE(local);
  CHECK(local->url == "http://127.0.0.1:9000/");
  CHECK(local->host == "127.0.0.1:9000");
  CHECK_FALSE(ec2_endpoint("us-east-1", "https://ec2.example/path", InsecureTransport::no));
  CHECK_FALSE(ec2_endpoint("us-east-1", "https://ex ample", InsecureTransport::no));
  CHECK_FALSE(ec2_endpoint("us-east-1", "ftp://x", InsecureTransport::yes));
}

TEST_CASE("throttling is retried with growing waits, then succeeds", "[ec2_api]") {
  Harness h;
  h.http.push_response(503, error_document("RequestLimitExceeded", "Request limit exceeded."));
  h.http.push_response(500, error_document("InternalError", "An internal error has occurred"));
  h.http.push_response(200, "<RebootInstancesResponse><return>true</return></RebootInstancesResponse>");
  auto body = ec2_call(h.caller, "RebootInstances", {{"InstanceId.1", "i-1"}});
  REQUIRE(body);
  CHECK(h.http.requests().size() == 3);
  CHECK(h.waits_ms == std::vector<long long>{250, 500}); // half of 250*2 and 250*4
}

TEST_CASE("retries are bounded in count and say so", "[ec2_api]") {
  Harness h;
  for (int i = 0; i < 10; ++i) {
    h.http.push_response(503, error_document("RequestLimitExceeded", "Request limit exceeded."));
  }
  auto body = ec2_call(h.caller, "DescribeInstances", {});
  REQUIRE_FALSE(body);
  CHECK(h.http.requests().size() == 6);
  CHECK(body.error().message ==
        "DescribeInstances: RequestLimitExceeded: Request limit exceeded. (gave up after 6 attempts)");
}

TEST_CASE("retries are bounded in time", "[ec2_api]") {
  Harness h;
  h.caller.policy.budget = std::chrono::seconds(0);
  h.http.push_response(503, error_document("RequestLimitExceeded", "slow down"));
  auto body = ec2_call(h.caller, "DescribeInstances", {});
  REQUIRE_FALSE(body);
  CHECK(h.http.requests().size() == 1);
}

TEST_CASE("client errors are not retried and keep EC2's code and message", "[ec2_api]") {
  Harness h;
  h.http.push_response(401, error_document("AuthFailure", "AWS was not able to validate the "
                                                          "provided access credentials"));
  auto body = ec2_call(h.caller, "DescribeInstances", {});
  REQUIRE_FALSE(body);
  CHECK(h.http.requests().size() == 1);
  CHECK(body.error().message == "DescribeInstances: AuthFailure: AWS was not able to validate "
                                "the provided access credentials");
  CHECK(body.error().message.find(k_credentials.secret_access_key) == std::string::npos);
}

TEST_CASE("the backoff is full jitter under a cap", "[ec2_api]") {
  RetryPolicy policy;
  CHECK(ec2_backoff(1, policy, 0.0).count() == 0);
  CHECK(ec2_backoff(1, policy, 0.999).count() == 499);
  CHECK(ec2_backoff(30, policy, 0.999).count() == 19980);
  CHECK(ec2_retryable(503, "RequestLimitExceeded"));
  CHECK(ec2_retryable(400, "Throttling"));
  CHECK(ec2_retryable(502, ""));
  CHECK_FALSE(ec2_retryable(400, "InvalidAMIID.NotFound"));
}
