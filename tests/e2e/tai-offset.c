// SPDX-License-Identifier: Apache-2.0
/*
 * tests/e2e/tai-offset: print the kernel's TAI - UTC offset (adjtimex "tai"); with an argument N,
 * set it to N first (ADJ_TAI) when it is 0, i.e. when nothing told this kernel yet. Built static
 * by tests/e2e/run (it runs in L1 too, a bare busybox initramfs without chrony or ntpd); the
 * vmclock-driver case uses it so that ember's vmclock page in TAI mode is not UNRELIABLE.
 *
 *   tai-offset [N]     prints "tai=N"; exits 1 when adjtimex fails
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timex.h>

int main(int argc, char **argv)
{
	struct timex t = {0};
	if (adjtimex(&t) < 0) {
		fprintf(stderr, "tai-offset: adjtimex: %s\n", strerror(errno));
		return 1;
	}
	if (argc > 1 && t.tai == 0) {
		struct timex s = {0};
		s.modes = ADJ_TAI;
		s.constant = atoi(argv[1]);
		if (adjtimex(&s) < 0) {
			fprintf(stderr, "tai-offset: adjtimex(ADJ_TAI): %s\n", strerror(errno));
			return 1;
		}
		memset(&t, 0, sizeof(t));
		if (adjtimex(&t) < 0)
			return 1;
	}
	printf("tai=%d\n", t.tai);
	return 0;
}
