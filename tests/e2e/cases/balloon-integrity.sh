# shellcheck shell=sh
# e2e: extended (minutes of nested guest time: it passes, but with it CI on two CPUs would take over 20 minutes; tests/e2e/run --extended, or name it)
# The memory-integrity run (balloon.inc): random data over most of the guest's free memory
# survives inflate, deflate and free page reporting cycles.
# shellcheck source=balloon.inc disable=SC1091 # beside this case
. "$E2E_DIR/cases/balloon.inc"
balloon_integrity g
