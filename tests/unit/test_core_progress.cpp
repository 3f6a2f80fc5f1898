#include "core/progress.h"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <sstream>
#include <thread>

using dm::Progress;
using dm::ProgressColor;
using dm::ProgressStyle;
using dm::ProgressTicker;

namespace {

bool mentions(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

} // namespace

TEST_CASE("plain progress prints one timestamped line per step", "[progress]") {
  std::ostringstream out;
  {
    Progress progress(out, ProgressStyle::plain, "m1: ", ProgressTicker::on, ProgressColor::on);
    progress.step("boot");
    progress.update("50%"); // plain: nothing
    progress.done();
    progress.step("provision");
    progress.failed();
  }
  const std::string text = out.str();
  CHECK(mentions(text, "] m1: boot: done ("));
  CHECK(mentions(text, "] m1: provision: failed ("));
  CHECK_FALSE(mentions(text, "\033[")); // neither colour nor cursor control in a pipe
  CHECK_FALSE(mentions(text, "50%"));
}

TEST_CASE("live progress redraws the step with a spinner while it runs", "[progress]") {
  std::ostringstream out;
  {
    Progress progress(out, ProgressStyle::live, "", ProgressTicker::on, ProgressColor::off);
    progress.step("boot");
    std::this_thread::sleep_for(std::chrono::milliseconds(1300));
    progress.update("waiting for SSH");
    progress.done();
  } // joins the ticker before out is read
  const std::string text = out.str();
  CHECK(mentions(text, "\r\033[K  - boot"));
  // The ticker turned the spinner and showed the elapsed seconds.
  CHECK((mentions(text, "  \\ boot") || mentions(text, "  | boot") || mentions(text, "  / boot")));
  CHECK(mentions(text, "boot (1s)"));
  CHECK(mentions(text, "boot: waiting for SSH (1s)"));
  CHECK(mentions(text, "\r\033[K  ok boot (1."));
  CHECK_FALSE(mentions(text, "\033[32m"));
}

TEST_CASE("live progress marks done and failed steps in colour unless told not to", "[progress]") {
  std::ostringstream out;
  {
    Progress progress(out, ProgressStyle::live, "", ProgressTicker::off, ProgressColor::on);
    progress.step("a");
    progress.done();
    progress.step("b");
    progress.failed();
  }
  CHECK(mentions(out.str(), "\033[32mok\033[0m a ("));
  CHECK(mentions(out.str(), "\033[31m!!\033[0m b ("));
}

TEST_CASE("NO_COLOR with a value turns colour off", "[progress]") {
  using dm::progress_color;
  CHECK(progress_color(ProgressStyle::live, nullptr) == ProgressColor::on);
  CHECK(progress_color(ProgressStyle::live, "") == ProgressColor::on); // empty: not set
  CHECK(progress_color(ProgressStyle::live, "1") == ProgressColor::off);
  CHECK(progress_color(ProgressStyle::plain, nullptr) == ProgressColor::off);
}

TEST_CASE("a child progress shows its steps inside the parent's live line", "[progress]") {
  std::ostringstream out;
  {
    Progress parent(out, ProgressStyle::live, "", ProgressTicker::off, ProgressColor::off);
    parent.step("create machine (qemu)");
    Progress child(parent, "");
    child.step("image disk.qcow2");
    child.update("downloading 50%");
    child.done();
    child.step("start the VM");
    child.failed();
    parent.failed();
  }
  const std::string text = out.str();
  CHECK(mentions(text, "\r\033[K  - create machine (qemu): image disk.qcow2: downloading 50%"));
  CHECK(mentions(text, "\r\033[K    ok image disk.qcow2 ("));
  CHECK(mentions(text, "\r\033[K    !! start the VM ("));
  CHECK(mentions(text, "\r\033[K  !! create machine (qemu) ("));
  // The child's lines come before the parent's own end.
  CHECK(text.find("    ok image") < text.find("  !! create machine"));
}

TEST_CASE("a child of a plain progress prints plain lines of its own", "[progress]") {
  std::ostringstream out;
  {
    Progress parent(out, ProgressStyle::plain);
    parent.step("create machine (qemu)");
    Progress child(parent, "q1: ");
    child.step("image disk.qcow2");
    child.done();
    parent.done();
  }
  CHECK(mentions(out.str(), "] q1: image disk.qcow2: done ("));
  CHECK(mentions(out.str(), "] create machine (qemu): done ("));
}
