/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * Replays a fuzz target's committed corpus through its entry point, built
 * with the ordinary compiler and flags, so that every input once found to
 * crash, and added to the corpus, stays a regression test in make check.
 * With no arguments it reads $FU_SRCDIR/tests/fuzz/corpus/FUZZ_CORPUS;
 * otherwise each argument is a file or a directory of files.
 */

#include <config.h>

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);
int	LLVMFuzzerInitialize(int *, char ***) __attribute__((weak));

static int	replay_n;

/* Feed one file to the target; -1 if it cannot be read. */
static int
replay_file(const char *path)
{
	FILE		*f;
	uint8_t		*buf = NULL;
	size_t		 len = 0, cap = 0, n;

	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (len == cap) {
			cap = cap == 0 ? 65536 : cap * 2;
			if ((buf = realloc(buf, cap)) == NULL) {
				perror("replay");
				exit(1);
			}
		}
		n = fread(buf + len, 1, cap - len, f);
		if (n == 0)
			break;
		len += n;
	}
	fclose(f);
	/* The target sees exactly the file's bytes, as libFuzzer would. */
	LLVMFuzzerTestOneInput(buf, len);
	free(buf);
	replay_n++;
	return 0;
}

/* Feed path, or every file in it if it is a directory. */
static int
replay_path(const char *path)
{
	struct stat	 sb;
	struct dirent	**names;
	char		*sub;
	int		 i, n, rc = 0;

	if (stat(path, &sb) != 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(sb.st_mode))
		return replay_file(path);
	if ((n = scandir(path, &names, NULL, alphasort)) < 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (names[i]->d_name[0] != '.') {
			if (asprintf(&sub, "%s/%s", path, names[i]->d_name) < 0)
				exit(1);
			if (replay_path(sub) != 0)
				rc = -1;
			free(sub);
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

int
main(int argc, char **argv)
{
	const char	*src = getenv("FU_SRCDIR");
	char		*dir;
	int		 i, rc = 0;

	if (LLVMFuzzerInitialize != NULL)
		LLVMFuzzerInitialize(&argc, &argv);
	if (argc < 2) {
		if (asprintf(&dir, "%s/tests/fuzz/corpus/%s", src != NULL ?
		    src : ".", FUZZ_CORPUS) < 0)
			exit(1);
		rc = replay_path(dir);
		free(dir);
	}
	for (i = 1; i < argc; i++) {
		if (replay_path(argv[i]) != 0)
			rc = -1;
	}
	if (replay_n == 0) {
		fprintf(stderr, "replay: %s: no input replayed\n", FUZZ_CORPUS);
		return 1;
	}
	printf("replay: %s: %d inputs, no crash\n", FUZZ_CORPUS, replay_n);
	return rc == 0 ? 0 : 1;
}
