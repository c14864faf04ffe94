# Writes OUT (a header defining CHERRY_GIT_REVISION) from `git describe --always --dirty` in SRC, at
# every build rather than at configure time, so run records name the commit the binary was built
# from. The file is rewritten only when the revision changed (no rebuild otherwise).
execute_process(COMMAND git describe --always --dirty WORKING_DIRECTORY ${SRC}
                OUTPUT_VARIABLE rev OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(NOT rev)
  set(rev "unknown")
endif()
set(content "#define CHERRY_GIT_REVISION \"${rev}\"\n")
set(old "")
if(EXISTS ${OUT})
  file(READ ${OUT} old)
endif()
if(NOT old STREQUAL content)
  file(WRITE ${OUT} "${content}")
endif()
