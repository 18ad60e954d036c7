# shellcheck shell=sh
# virtio-balloon on anonymous guest RAM (the default backing): the stock kernel's driver inflates
# to half of a 512 MiB guest after the guest touched its memory; MemTotal drops by 256 MiB and
# ember's memory by >= 90 % of it; deflating gives MemTotal back (balloon.inc).
# shellcheck source=balloon.inc disable=SC1091 # beside this case
. "$E2E_DIR/cases/balloon.inc"
balloon_inflate g anonymous
