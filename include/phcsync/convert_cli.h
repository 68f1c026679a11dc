/* SPDX-License-Identifier: BSD-2-Clause */
/* phcsyncd --convert FILE: the file's I/O around convert.c. */
#ifndef PHCSYNC_CONVERT_CLI_H
#define PHCSYNC_CONVERT_CLI_H

#include <stdio.h>

/*
 * Read path ("-": standard input), write the phcsyncd.conf to out and the diagnostics to
 * err. Returns the exit status: 0 converted (warnings are in err and in the comments),
 * 1 the result could not be written or memory ran out, 2 the file cannot be read or holds
 * input that cannot be converted (err says FILE:LINE: what was expected; out is empty).
 */
int convert_cli(const char *path, FILE *out, FILE *err);

#endif
