/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * libFuzzer target for the import parsers: any bytes, read both as CSV
 * and as vCards, must parse or be refused without a crash or a leak.
 * Built by configure --enable-fuzz; tests/fuzz/run-fuzz runs it on
 * tests/fuzz/corpus/fuzz-import/.
 */

#include <config.h>

#include <stdint.h>
#include <stdlib.h>

#include "import.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct import_file	 f;
	char			*cause = NULL;

	if (import_csv((const char *)data, size, &f, &cause) == 0)
		import_file_free(&f);
	free(cause);
	cause = NULL;
	if (import_vcard((const char *)data, size, &f, &cause) == 0)
		import_file_free(&f);
	free(cause);
	return 0;
}
