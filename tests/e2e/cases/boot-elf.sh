# shellcheck shell=sh
# The same kernel as an ELF vmlinux (tools/extract-vmlinux) boots to the guest's init too.
[ -f "$E2E_GUEST/vmlinux" ] || fail "no $E2E_GUEST/vmlinux (tests/e2e/run extracts it)"
guest g 1 256 poweroff <<'G'
fact kernel "$(uname -r)"
fact nproc "$(nproc)"
G
ln -sf "$E2E_GUEST/vmlinux" vmlinux
sed 's/kernel = "vmlinuz";/kernel = "vmlinux";/' g.cfg >elf.cfg
grep -q 'kernel = "vmlinux";' elf.cfg || fail "could not write the ELF config"
ember_run g run elf.cfg
expect_status 0
expect_fact g nproc 1
[ -n "$(fact g kernel)" ] || fail "the guest printed no kernel release"
note_boot_timer g
