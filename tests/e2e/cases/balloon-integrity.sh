# shellcheck shell=sh
# The memory-integrity run (balloon.inc): random data over most of the guest's free memory
# survives inflate, deflate and free page reporting cycles.
# shellcheck source=balloon.inc disable=SC1091 # beside this case
. "$E2E_DIR/cases/balloon.inc"
balloon_integrity g
