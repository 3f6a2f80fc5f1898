#pragma once
// Calls of the EC2 Query API (Version 2016-11-15): the form body, the SigV4-signed
// POST, and bounded retries with exponential backoff and full jitter on throttling
// and server errors. An EC2 error document becomes an error that says its code.
#include "core/http_client.h"
#include "drivers/amazonec2/ec2_xml.h"
#include "drivers/amazonec2/sigv4.h"

#include <chrono>
#include <functional>
#include <string>

namespace dm::aws {

// https://ec2.REGION.amazonaws.com/, or --amazonec2-endpoint (http only with
// InsecureTransport::yes, as docker-machine's --amazonec2-insecure-transport).
enum class InsecureTransport { no, yes };
struct Ec2Endpoint {
  std::string url;  // scheme://host[:port]/
  std::string host; // host[:port], the signed Host header
  std::string region;
};
Result<Ec2Endpoint> ec2_endpoint(const std::string& region, const std::string& override_url,
                                 InsecureTransport insecure);

// Action=...&Version=2016-11-15&<params>, every name and value percent-encoded (RFC 3986).
std::string ec2_form_body(const std::string& action, const Pairs& params);

// The signed POST for one call at amz_date ("20150830T123600Z").
HttpRequest ec2_request(const Ec2Endpoint& endpoint, const std::string& action,
                        const Pairs& params, const AwsCredentials& credentials,
                        const std::string& amz_date);

struct RetryPolicy {
  int attempts = 6; // the first call and up to 5 retries (--amazonec2-retries)
  std::chrono::milliseconds base{250};
  std::chrono::milliseconds cap{20000};
  std::chrono::seconds budget{120}; // no retry starts after this much time
};

// Whether an answer is worth another try: RequestLimitExceeded, Throttling, 5xx.
bool ec2_retryable(int http_status, const std::string& error_code);
// The wait before retry number attempt (1, 2, ...): uniform in [0, min(cap, base * 2^attempt)].
std::chrono::milliseconds ec2_backoff(int attempt, const RetryPolicy& policy, double unit_random);

struct Ec2Caller {
  HttpClient& http;
  Ec2Endpoint endpoint;
  AwsCredentials credentials;
  RetryPolicy policy;
  // Injected for tests: the clock (unix seconds), a sleep, and a uniform [0, 1) source.
  std::function<long long()> now;
  std::function<void(std::chrono::milliseconds)> sleep;
  std::function<double()> random;
};
// A caller with the real clock, sleep and randomness.
Ec2Caller ec2_caller(HttpClient& http, Ec2Endpoint endpoint, AwsCredentials credentials,
                     RetryPolicy policy = {});

// One call: the response body of a 2xx answer; otherwise an error naming the action and
// EC2's code and message ("RunInstances: InsufficientInstanceCapacity: ..."). Ctrl-C
// stops the retries (ErrorKind::interrupted).
Result<std::string> ec2_call(Ec2Caller& caller, const std::string& action, const Pairs& params);

} // namespace dm::aws
