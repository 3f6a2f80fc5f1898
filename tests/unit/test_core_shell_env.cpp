#include "core/shell_env.h"

#include <catch2/catch.hpp>

using dm::ShellKind;

namespace {

const dm::EnvVars k_vars = {{"DOCKER_TLS_VERIFY", "1"},
                            {"DOCKER_HOST", "tcp://10.0.0.2:2376"},
                            {"DOCKER_CERT_PATH", "/s/machines/dev"},
                            {"DOCKER_MACHINE_NAME", "dev"}};

} // namespace

TEST_CASE("env for bash, byte for byte", "[env]") {
  CHECK(dm::render_env_set(ShellKind::posix, k_vars, "dmachine env dev") ==
        "export DOCKER_TLS_VERIFY=\"1\"\n"
        "export DOCKER_HOST=\"tcp://10.0.0.2:2376\"\n"
        "export DOCKER_CERT_PATH=\"/s/machines/dev\"\n"
        "export DOCKER_MACHINE_NAME=\"dev\"\n"
        "# Run this command to configure your shell: \n"
        "# eval $(dmachine env dev)\n");
}

TEST_CASE("env for every other shell", "[env]") {
  dm::EnvVars one = {{"DOCKER_HOST", "tcp://10.0.0.2:2376"}};
  CHECK(dm::render_env_set(ShellKind::fish, one, "dmachine env --shell fish dev") ==
        "set -gx DOCKER_HOST \"tcp://10.0.0.2:2376\";\n"
        "# Run this command to configure your shell: \n"
        "# eval (dmachine env --shell fish dev)\n");
  CHECK(dm::render_env_set(ShellKind::powershell, one, "dmachine env --shell powershell dev") ==
        "$Env:DOCKER_HOST = \"tcp://10.0.0.2:2376\"\n"
        "# Run this command to configure your shell: \n"
        "# & dmachine env --shell powershell dev | Invoke-Expression\n");
  CHECK(dm::render_env_set(ShellKind::cmd, one, "dmachine env --shell cmd dev") ==
        "SET DOCKER_HOST=tcp://10.0.0.2:2376\n"
        "REM Run this command to configure your shell: \n"
        "REM \t@FOR /f \"tokens=*\" %i IN ('dmachine env --shell cmd dev') DO @%i\n");
  CHECK(dm::render_env_set(ShellKind::emacs, one, "dmachine env --shell emacs dev") ==
        "(setenv \"DOCKER_HOST\" \"tcp://10.0.0.2:2376\")\n"
        ";; Run this command to configure your shell: \n"
        ";; (with-temp-buffer (shell-command \"dmachine env --shell emacs dev\" (current-buffer)) "
        "(eval-buffer))\n");
  CHECK(dm::render_env_set(ShellKind::tcsh, one, "dmachine env --shell tcsh dev") ==
        "setenv DOCKER_HOST \"tcp://10.0.0.2:2376\";\n"
        ": Run this command to configure your shell: \n"
        ": eval `dmachine env --shell tcsh dev`\n");
}

TEST_CASE("env --unset for every shell", "[env]") {
  std::vector<std::string> names = {"DOCKER_HOST"};
  CHECK(dm::render_env_unset(ShellKind::posix, names, "dmachine env -u") ==
        "unset DOCKER_HOST\n# Run this command to configure your shell: \n# eval $(dmachine env -u)\n");
  CHECK(dm::render_env_unset(ShellKind::fish, names, "x").rfind("set -e DOCKER_HOST;\n", 0) == 0);
  CHECK(dm::render_env_unset(ShellKind::powershell, names, "x")
            .rfind("Remove-Item Env:\\\\DOCKER_HOST\n", 0) == 0);
  CHECK(dm::render_env_unset(ShellKind::cmd, names, "x").rfind("SET DOCKER_HOST=\n", 0) == 0);
  CHECK(dm::render_env_unset(ShellKind::emacs, names, "x")
            .rfind("(setenv \"DOCKER_HOST\" nil)\n", 0) == 0);
  CHECK(dm::render_env_unset(ShellKind::tcsh, names, "x").rfind("unsetenv DOCKER_HOST;\n", 0) == 0);
}

TEST_CASE("shell detection and NO_PROXY", "[env]") {
  CHECK(dm::shell_kind_from_env(nullptr) == ShellKind::posix);
  CHECK(dm::shell_kind_from_env("/usr/bin/fish") == ShellKind::fish);
  CHECK(dm::shell_kind_from_env("/bin/unknownsh") == ShellKind::posix);
  CHECK_FALSE(dm::parse_shell_kind("nushell"));
  CHECK(dm::no_proxy_value("", "1.2.3.4") == "1.2.3.4");
  CHECK(dm::no_proxy_value("localhost", "1.2.3.4") == "localhost,1.2.3.4");
  CHECK(dm::no_proxy_value("localhost,1.2.3.4", "1.2.3.4") == "localhost,1.2.3.4");
}

TEST_CASE("env quotes hostile values for every shell", "[env]") {
  const std::string hostile = "a\"b'c$(touch p)`touch q`\\d!e";
  dm::EnvVars one = {{"DOCKER_CERT_PATH", hostile}};
  auto first_line = [&](ShellKind shell) {
    std::string text = dm::render_env_set(shell, one, "x");
    return text.substr(0, text.find('\n'));
  };
  CHECK(first_line(ShellKind::posix) ==
        "export DOCKER_CERT_PATH=\"a\\\"b'c\\$(touch p)\\`touch q\\`\\\\d!e\"");
  CHECK(first_line(ShellKind::fish) ==
        "set -gx DOCKER_CERT_PATH \"a\\\"b'c\\$(touch p)`touch q`\\\\d!e\";");
  CHECK(first_line(ShellKind::powershell) ==
        "$Env:DOCKER_CERT_PATH = 'a\"b''c$(touch p)`touch q`\\d!e'");
  CHECK(first_line(ShellKind::emacs) ==
        "(setenv \"DOCKER_CERT_PATH\" \"a\\\"b'c$(touch p)`touch q`\\\\d!e\")");
  CHECK(first_line(ShellKind::tcsh) ==
        "setenv DOCKER_CERT_PATH 'a\"b'\\''c$(touch p)`touch q`\\d'\\!'e';");
  // PowerShell's typographic quotes end a string too: doubled inside '...'.
  dm::EnvVars curly = {{"K", "a\xE2\x80\x99" "b"}};
  CHECK(dm::render_env_set(ShellKind::powershell, curly, "x").rfind(
            "$Env:K = 'a\xE2\x80\x99\xE2\x80\x99" "b'\n", 0) == 0);
}

TEST_CASE("env refuses values a shell cannot hold", "[env]") {
  dm::EnvVars newline = {{"NO_PROXY", "a\nb"}};
  CHECK(dm::check_env_values(ShellKind::posix, newline));
  CHECK(dm::check_env_values(ShellKind::fish, newline));
  CHECK(dm::check_env_values(ShellKind::emacs, newline));
  CHECK(dm::check_env_values(ShellKind::powershell, newline));
  auto tcsh = dm::check_env_values(ShellKind::tcsh, newline);
  REQUIRE_FALSE(tcsh);
  CHECK_THAT(tcsh.error().message, Catch::Contains("NO_PROXY"));
  CHECK_FALSE(dm::check_env_values(ShellKind::cmd, newline));
  CHECK_FALSE(dm::check_env_values(ShellKind::posix, {{"K", std::string("a\0b", 3)}}));
  CHECK_FALSE(dm::check_env_values(ShellKind::posix, {{"K", "a\rb"}}));
  CHECK_FALSE(dm::check_env_values(ShellKind::cmd, {{"K", "a&calc"}}));
  CHECK_FALSE(dm::check_env_values(ShellKind::cmd, {{"K", "%PATH%"}}));
  CHECK(dm::check_env_values(ShellKind::cmd, k_vars));
  for (auto shell : {ShellKind::posix, ShellKind::fish, ShellKind::powershell, ShellKind::cmd,
                     ShellKind::emacs, ShellKind::tcsh}) {
    CHECK(dm::check_env_values(shell, k_vars));
  }
}
