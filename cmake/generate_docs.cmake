# Run at build time (cmake -P): the man pages and completion scripts that the built
# dmachine generates from its own command and driver tables, and the Debian
# changelog, into OUT. Inputs: DMACHINE (the binary), OUT, VERSION, SOURCE_DIR.
file(REMOVE_RECURSE ${OUT})
file(MAKE_DIRECTORY ${OUT}/man1 ${OUT}/completion ${OUT}/doc)
execute_process(COMMAND ${DMACHINE} __man ${OUT}/man1 COMMAND_ERROR_IS_FATAL ANY)
foreach(shell bash zsh fish)
  execute_process(COMMAND ${DMACHINE} completion ${shell}
    OUTPUT_FILE ${OUT}/completion/${shell} COMMAND_ERROR_IS_FATAL ANY)
endforeach()
file(RENAME ${OUT}/completion/bash ${OUT}/completion/dmachine)
file(RENAME ${OUT}/completion/zsh ${OUT}/completion/_dmachine)
file(RENAME ${OUT}/completion/fish ${OUT}/completion/dmachine.fish)
string(TIMESTAMP DATE "%a, %d %b %Y %H:%M:%S +0000" UTC)
file(WRITE ${OUT}/doc/changelog
  "dmachine (${VERSION}) unstable; urgency=medium\n\n"
  "  * Built from the dmachine source tree.\n\n"
  " -- ${MAINTAINER}  ${DATE}\n")
file(GLOB pages ${OUT}/man1/*.1)
# gzip -n: no name or time stamp inside, so the same input gives the same package.
execute_process(COMMAND gzip -9nf ${pages} ${OUT}/doc/changelog COMMAND_ERROR_IS_FATAL ANY)
