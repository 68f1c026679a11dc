/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * iface_probe NAME...: print what iface_phc_index and its ioctl fallback answer for each
 * name, as "NAME netlink|ioctl RET INDEX MESSAGE"; iface_probe --list: iface_list's lines
 * "NAME INDEX". Driven by test_iface.sh inside a private network namespace.
 */
#include <stdio.h>
#include <string.h>

#include "phcsync/iface.h"

static void probe(const char *name, const char *how,
		  int (*ask)(const char *, int *, char *, size_t))
{
	char err[256] = "";
	int index;
	int ret = ask(name, &index, err, sizeof(err));

	printf("%s %s %d %d %s\n", name, how, ret, index, ret ? err : "ok");
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--list") == 0) {
		struct iface_info list[64];
		char err[256];
		int n = iface_list(list, 64, err, sizeof(err));

		if (n < 0) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		for (int i = 0; i < n; i++)
			printf("%s %d\n", list[i].name, list[i].phc_index);
		return 0;
	}
	for (int i = 1; i < argc; i++) {
		probe(argv[i], "netlink", iface_phc_index);
		probe(argv[i], "ioctl", iface_phc_index_ioctl);
	}
	return 0;
}
