# shellcheck shell=sh
# e2e: extended (minutes of nested guest time: it passes, but with it CI on two CPUs would take over 20 minutes; tests/e2e/run --extended, or name it)
# The inflate and reporting checks with guest RAM in a shared memfd (machine.memory_backing =
# "shared"), measured on the memfd's allocated blocks: MADV_DONTNEED would leave them allocated,
# so this fails unless the discard punches holes (balloon.inc).
# shellcheck source=balloon.inc disable=SC1091 # beside this case
. "$E2E_DIR/cases/balloon.inc"
balloon_inflate inflate shared
balloon_report report shared
