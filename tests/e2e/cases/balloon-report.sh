# shellcheck shell=sh
# e2e: extended (minutes of nested guest time: it passes, but with it CI on two CPUs would take over 20 minutes; tests/e2e/run --extended, or name it)
# Free page reporting on anonymous guest RAM, without inflating: 200 MiB filled and freed in the
# guest come back to the host (>= 150 MiB within ~10 s; balloon.inc).
# shellcheck source=balloon.inc disable=SC1091 # beside this case
. "$E2E_DIR/cases/balloon.inc"
balloon_report g anonymous
