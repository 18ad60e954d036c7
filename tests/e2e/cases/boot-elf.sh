# shellcheck shell=sh
# The same kernel as an ELF vmlinux (tools/extract-vmlinux) boots to the guest's init too (most
# cases boot it, lib.sh's guest(); this one fails when it is missing instead of falling back).
[ -f "$E2E_GUEST/vmlinux" ] || fail "no $E2E_GUEST/vmlinux (tests/e2e/run extracts it)"
GUEST_IMAGE=vmlinux
guest g 1 256 poweroff <<'G'
fact kernel "$(uname -r)"
fact nproc "$(nproc)"
G
grep -q 'kernel = "vmlinux";' g.cfg || fail "the config does not boot vmlinux"
ember_run g run g.cfg
expect_status 0
expect_fact g nproc 1
[ -n "$(fact g kernel)" ] || fail "the guest printed no kernel release"
note_boot_timer g
