#include "drivers/vm/iso_image.h"

#include "core/machine_store.h"

#include <cstdlib>
#include <cstring>
#include <fmt/format.h>
#include <memory>
#include <mutex>

// The copy of struct burn_source in libisofs.h: dmachine reads the image itself, without
// libburn.
#define LIBISOFS_WITHOUT_LIBBURN 1
#include <libisofs/libisofs.h>

namespace dm::vm {

namespace {

constexpr int k_block_size = 2048;
constexpr int k_iso_level = 3;
constexpr mode_t k_file_mode = 0444;

// libisofs keeps global state; it is set up once per process and never finished, since
// another thread may be building an image at any time.
Result<void> init_libisofs() {
  static std::once_flag once;
  static int status = 0;
  std::call_once(once, [] {
    // bit0: leave the process's locale alone (our names are ASCII).
    status = iso_init_with_flag(1);
    if (status > 0) {
      // Errors come back as return codes; nothing is printed to the user's terminal.
      static char never[] = "NEVER";
      static char prefix[] = "libisofs";
      iso_set_msgs_severities(never, never, prefix);
    }
  });
  if (status <= 0) {
    return fail(fmt::format("initialize libisofs: {}", iso_error_to_msg(status)));
  }
  return {};
}

Result<void> check(int code, const char* what) {
  if (code < 0) {
    return fail(fmt::format("libisofs: {}: {}", what, iso_error_to_msg(code)));
  }
  return {};
}

struct ImageDeleter {
  void operator()(IsoImage* image) const { iso_image_unref(image); }
};
struct OptsDeleter {
  void operator()(IsoWriteOpts* opts) const { iso_write_opts_free(opts); }
};
struct StreamDeleter {
  void operator()(IsoStream* stream) const { iso_stream_unref(stream); }
};
// Ends the generator thread if reading stopped early, then frees the source (libburn's
// burn_source_free() does the same).
struct BurnSourceDeleter {
  bool finished = false;
  void operator()(burn_source* source) const {
    if (!finished && source->version >= 1 && source->cancel != nullptr) {
      source->cancel(source);
    }
    source->free_data(source);
    std::free(source);
  }
};
using ImagePtr = std::unique_ptr<IsoImage, ImageDeleter>;
using OptsPtr = std::unique_ptr<IsoWriteOpts, OptsDeleter>;
using StreamPtr = std::unique_ptr<IsoStream, StreamDeleter>;
using BurnSourcePtr = std::unique_ptr<burn_source, BurnSourceDeleter>;

// A memory stream owning a malloc'ed copy of content (libisofs frees it with free()).
Result<StreamPtr> memory_stream(const std::string& content) {
  auto* buffer = static_cast<unsigned char*>(std::malloc(content.empty() ? 1 : content.size()));
  if (buffer == nullptr) {
    return fail("libisofs: out of memory");
  }
  std::memcpy(buffer, content.data(), content.size());
  IsoStream* stream = nullptr;
  int code = iso_memory_stream_new(buffer, content.size(), &stream);
  if (code < 0) {
    std::free(buffer);
  }
  DM_TRY(check(code, "memory stream"));
  return StreamPtr(stream);
}

Result<void> add_file(IsoImage* image, const IsoImageFile& file) {
  auto stream = memory_stream(file.content);
  DM_TRY(stream);
  ::IsoFile* node = nullptr;
  int code = iso_image_add_new_file(image, iso_image_get_root(image), file.name.c_str(),
                                    stream->get(), &node);
  DM_TRY(check(code, fmt::format("add {}", file.name).c_str()));
  (void)stream->release(); // the file node holds the stream's reference now
  auto* as_node = reinterpret_cast<IsoNode*>(node);
  iso_node_set_permissions(as_node, k_file_mode);
  iso_node_set_uid(as_node, 0);
  iso_node_set_gid(as_node, 0);
  return {};
}

Result<OptsPtr> write_options() {
  IsoWriteOpts* raw = nullptr;
  DM_TRY(check(iso_write_opts_new(&raw, 0), "write options"));
  OptsPtr opts(raw);
  DM_TRY(check(iso_write_opts_set_iso_level(raw, k_iso_level), "ISO level"));
  DM_TRY(check(iso_write_opts_set_rockridge(raw, 1), "Rock Ridge"));
  DM_TRY(check(iso_write_opts_set_joliet(raw, 1), "Joliet"));
  // Keep the volume id as given ("cidata", lower case): blkid and cloud-init read it so.
  DM_TRY(check(iso_write_opts_set_relaxed_vol_atts(raw, 1), "volume id characters"));
  return opts;
}

} // namespace

Result<std::string> build_iso_image(const std::string& volume_id,
                                    const std::vector<IsoImageFile>& files) {
  DM_TRY(init_libisofs());
  IsoImage* raw_image = nullptr;
  DM_TRY(check(iso_image_new(volume_id.c_str(), &raw_image), "new image"));
  ImagePtr image(raw_image); // iso_image_new() sets the volume id (and volume set id)
  for (const auto& file : files) {
    DM_TRY(add_file(raw_image, file));
  }
  auto opts = write_options();
  DM_TRY(opts);
  burn_source* raw_source = nullptr;
  DM_TRY(check(iso_image_create_burn_source(raw_image, opts->get(), &raw_source),
               "start writing the image"));
  BurnSourcePtr source(raw_source);

  auto* read = source->version >= 1 && source->read_xt != nullptr ? source->read_xt : source->read;
  std::string bytes;
  unsigned char block[k_block_size];
  for (;;) {
    int got = read(source.get(), block, k_block_size);
    if (got < 0) {
      return fail("libisofs: generating the image failed");
    }
    if (got == 0) {
      break;
    }
    bytes.append(reinterpret_cast<const char*>(block), static_cast<size_t>(got));
  }
  source.get_deleter().finished = true;
  if (bytes.empty() || bytes.size() % k_block_size != 0) {
    return fail(fmt::format("libisofs: the image has {} bytes, not whole blocks", bytes.size()));
  }
  return bytes;
}

Result<void> write_iso_image(const std::filesystem::path& path, const std::string& volume_id,
                             const std::vector<IsoImageFile>& files, int mode) {
  auto bytes = build_iso_image(volume_id, files);
  DM_TRY_CTX(bytes, "build " + path.string());
  DM_TRY(write_file_atomic(path, *bytes, mode));
  return {};
}

} // namespace dm::vm
