/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * libFuzzer target: the configuration file parser (config_load) on the
 * input as a file's contents, then the value syntaxes it uses (durations,
 * times of day, hours, workdays) on the input as one value.  The file is
 * a temporary one, rewritten for each input.
 */

#include <config.h>

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "followupd.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char	fz_path[256];

static void
fz_cleanup(void)
{
	if (fz_path[0] != '\0')
		unlink(fz_path);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char	*tmp = getenv("TMPDIR");
	int		 fd;

	log_init(LOG_TO_STDERR, 0);
	if (tmp == NULL || *tmp != '/')
		tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(fz_path, sizeof fz_path, "%s/fu-fuzz-config.XXXXXX", tmp);
	if ((fd = mkstemp(fz_path)) == -1) {
		perror(fz_path);
		exit(1);
	}
	close(fd);
	atexit(fz_cleanup);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fu_config	*cf;
	char			*cause = NULL, *value;
	long			 n;
	int			 fd, a, b;
	unsigned int		 days;

	if (size > 65536)
		return -1;
	if ((fd = open(fz_path, O_WRONLY | O_TRUNC)) == -1 ||
	    write(fd, data, size) != (ssize_t)size || close(fd) != 0) {
		perror(fz_path);
		abort();
	}
	cf = config_new();
	if (config_load(cf, fz_path, 0, &cause) != 0) {
		if (cause == NULL)
			abort();
		free(cause);
	} else if (cause != NULL)
		abort();
	config_free(cf);

	value = xstrndup((const char *)data, size);
	(void)config_parse_duration(value, &n);
	(void)config_parse_hhmm(value, &a);
	(void)config_parse_hours(value, &a, &b);
	(void)config_parse_workdays(value, &days);
	free(value);
	return 0;
}
