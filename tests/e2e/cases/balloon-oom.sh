# shellcheck shell=sh
# Deflate-on-OOM (balloon.inc): the guest outgrows what the balloon left it, takes pages back
# from the balloon instead of killing anything.
# shellcheck source=balloon.inc disable=SC1091 # beside this case
. "$E2E_DIR/cases/balloon.inc"
balloon_oom g
