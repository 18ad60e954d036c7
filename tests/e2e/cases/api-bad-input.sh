# shellcheck shell=sh
# Bad input on the API socket, before boot and while the guest runs: malformed HTTP, a body
# over the 51200-byte limit, a body cut off by a client that hangs up, unknown fields, wrong
# types, bad ids, 40 clients at once. Each gets its 400 (or its connection closed) and ember
# goes on serving; the VM then boots and keeps running through the same while it runs. Also:
# a second ember on the same socket path refuses it (the path exists) and starts nothing.
api_guest g <<'G'
fact ready 1
G
API_SOCK=$PWD/fc.sock
status_of() { # the status code of a raw answer on stdin
	head -n 1 | cut -d' ' -f2
}
abuse() {
	s=$(printf 'GARBAGE\r\n\r\n' | "$E2E_API_TEST" raw "$API_SOCK" | status_of)
	[ -z "$s" ] || [ "$s" = 400 ] || fail "malformed request line: status $s"
	s=$(printf 'PUT /machine-config HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n{"vc' |
		"$E2E_API_TEST" raw "$API_SOCK" | status_of)
	[ -z "$s" ] || [ "$s" = 400 ] || fail "a short body: status $s"
	head -c 60000 /dev/zero | tr '\0' ' ' >big.json
	api PUT /mmds "$(cat big.json)"
	[ "$API_STATUS" = 400 ] || [ "$API_STATUS" = curl-failed ] || fail "a 60000-byte body: status $API_STATUS"
	"$E2E_API_TEST" cut "$API_SOCK" 100 || fail "could not send a cut-off request"
	api_expect 400 PUT /machine-config '{"vcpu_count":1,"mem_size_mib":256,"bogus":1}'
	api_expect 400 PUT /machine-config '{"vcpu_count":"one","mem_size_mib":256}'
	api_expect 400 PUT /machine-config '{"vcpu_count":1,'
	api_expect 400 PUT /drives/bad-id '{"drive_id":"bad-id","is_root_device":false,"path_on_host":"/dev/null"}'
	api_expect 400 GET /no/such/path
	api_expect 400 DELETE /machine-config
	out=$("$E2E_API_TEST" flood "$API_SOCK" 40) || fail "40 clients at once: $out"
	api_expect 200 GET /
}
ember_start g firecracker --api-sock "$API_SOCK"
wait_socket "$API_SOCK"
abuse
note "before boot: $out"
"$E2E_EMBER" firecracker --api-sock "$API_SOCK" >second.out 2>second.err &&
	fail "a second ember on the same socket path started"
grep -q 'already exists' second.err || fail "the second ember's message: $(cat second.err)"
api_expect 204 PUT /boot-source "{\"kernel_image_path\":\"$GUEST_KERNEL\",\"boot_args\":\"$GUEST_ARGS\",\"initrd_path\":\"$PWD/g.initrd\"}"
api_expect 204 PUT /machine-config '{"vcpu_count":1,"mem_size_mib":256}'
api_expect 204 PUT /actions '{"action_type":"InstanceStart"}'
wait_for g 'E2E_FACT ready=1' 120
abuse
note "while running: $out"
api_expect 200 GET /
[ "$(api_json state)" = Running ] || fail "GET / after the abuse: $(cat api.body)"
kill -TERM "$EMBER_PID"
# shellcheck disable=SC2034 # ember_wait counts from E2E_T0
E2E_T0=$(now)
ember_wait 15
expect_status 0
