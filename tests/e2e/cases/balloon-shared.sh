# shellcheck shell=sh
# The inflate and reporting checks with guest RAM in a shared memfd (machine.memory_backing =
# "shared"), measured on the memfd's allocated blocks: MADV_DONTNEED would leave them allocated,
# so this fails unless the discard punches holes (balloon.inc).
# shellcheck source=balloon.inc disable=SC1091 # beside this case
. "$E2E_DIR/cases/balloon.inc"
balloon_inflate inflate shared
balloon_report report shared
