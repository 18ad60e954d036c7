# shellcheck shell=sh
# Free page reporting on anonymous guest RAM, without inflating: 200 MiB filled and freed in the
# guest come back to the host (>= 150 MiB within ~10 s; balloon.inc).
# shellcheck source=balloon.inc disable=SC1091 # beside this case
. "$E2E_DIR/cases/balloon.inc"
balloon_report g anonymous
