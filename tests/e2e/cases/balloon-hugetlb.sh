# shellcheck shell=sh
# The inflate and reporting checks with guest RAM in 2 MiB huge pages (machine.memory_backing =
# "hugetlb"; the case reserves L1's pool), measured on the hugetlbfs memfd's blocks: a 4 KiB
# discard frees nothing there, so this fails unless whole huge pages go once all of them are in
# the balloon or reported free (balloon.inc). First, a guest bigger than the pool is refused at
# start with one line naming the key (the pages are reserved when ember maps them).
# shellcheck source=balloon.inc disable=SC1091 # beside this case
. "$E2E_DIR/cases/balloon.inc"
# shellcheck disable=SC2034 # read by guest() (lib.sh)
MACHINE='memory_backing = "hugetlb";' DEVICES=''
guest big 1 2048 poweroff </dev/null
ember_run big run big.cfg
expect_status 1
line=$(grep -n memory_backing big.cfg | cut -d: -f1)
grep -q "big\.cfg:$line: machine\.memory_backing: cannot map 2048 MiB of guest RAM in 2 MiB huge pages" big.err ||
	fail "no message naming machine.memory_backing: $(cat big.err)"
balloon_inflate inflate hugetlb
balloon_report report hugetlb
