# shellcheck shell=sh
# e2e: extended (minutes of nested guest time: it passes, but with it CI on two CPUs would take over 20 minutes; tests/e2e/run --extended, or name it)
# Deflate-on-OOM (balloon.inc): the guest outgrows what the balloon left it, takes pages back
# from the balloon instead of killing anything.
# shellcheck source=balloon.inc disable=SC1091 # beside this case
. "$E2E_DIR/cases/balloon.inc"
balloon_oom g
