# shellcheck shell=sh
# The guest kernel finds nothing wrong with the firmware tables ember builds (2 vCPUs).
guest g 2 256 poweroff <<'G'
pat='ACPI Error|ACPI BIOS Error|ACPI Warning|Firmware Bug|FW BUG'
dmesg | grep -E "$pat" | sed 's/^/dmesg: /'
fact acpi_errors "$(dmesg | grep -cE "$pat")"
fact dmesg_lines "$(dmesg | wc -l)"
G
ember_run g run g.cfg
expect_status 0
[ -n "$(fact g dmesg_lines)" ] || fail "the guest did not report its dmesg"
if [ "$(fact g acpi_errors)" != 0 ]; then
	tr -d '\r' <g.out | grep '^dmesg: '
	fail "guest dmesg has $(fact g acpi_errors) ACPI/firmware error line(s)"
fi
