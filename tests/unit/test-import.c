/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * Unit tests of the import parsers (client/import*.c): CSV as spreadsheets
 * and CRMs write it (quoted commas, quotes and line breaks, a byte order
 * mark, CRLF, semicolons, mapped headers, bad rows with their lines) and
 * vCards 2.1 to 4.0 (folded lines, parameters, escapes, quoted-printable,
 * cards without a name or an end).
 */

#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "import.h"

/* Parse text as CSV, which must succeed. */
static void
csv(struct import_file *f, const char *text)
{
	char	*cause = NULL;

	if (import_csv(text, strlen(text), f, &cause) != 0)
		fail_msg("import_csv: %s", cause);
}

static void
vcard(struct import_file *f, const char *text)
{
	char	*cause = NULL;

	if (import_vcard(text, strlen(text), f, &cause) != 0)
		fail_msg("import_vcard: %s", cause);
}

static void
test_csv_quoted_commas_quotes_and_line_breaks(void **state)
{
	struct import_file	f;

	csv(&f, "Name,Company,Notes\n"
	    "Ada Lovelace,\"Acme, Inc.\",\"said \"\"call me\"\"\r\nafter 3\"\n"
	    "Bob,Widgets,plain\n");
	assert_int_equal(f.nrecords, 2);
	assert_int_equal(f.records[0].line, 2);
	assert_string_equal(f.records[0].name, "Ada Lovelace");
	assert_string_equal(f.records[0].company, "Acme, Inc.");
	assert_string_equal(f.records[0].notes, "said \"call me\"\nafter 3");
	assert_null(f.records[0].skip);
	/* The line break inside the quotes counts: Bob starts on line 4. */
	assert_int_equal(f.records[1].line, 4);
	assert_string_equal(f.records[1].name, "Bob");
	assert_null(f.records[1].email);
	import_file_free(&f);
}

static void
test_csv_bom_and_crlf(void **state)
{
	struct import_file	f;

	csv(&f, "\xef\xbb\xbf" "Full Name,E-mail Address\r\n"
	    "Ada,ada@example.com\r\n\r\n"
	    "\"Bob\r\nSmith\",bob@example.com\r\n");
	assert_int_equal(f.ncolumns, 2);
	assert_string_equal(f.columns[0].header, "Full Name");
	assert_string_equal(f.columns[0].field, "name");
	assert_string_equal(f.columns[1].field, "email");
	assert_int_equal(f.nrecords, 2);
	assert_string_equal(f.records[0].email, "ada@example.com");
	/* A blank line is passed over; a name is on one line. */
	assert_int_equal(f.records[1].line, 4);
	assert_string_equal(f.records[1].name, "Bob Smith");
	assert_int_equal(f.nnotes, 0);
	import_file_free(&f);
}

static void
test_csv_bad_rows_keep_their_lines(void **state)
{
	struct import_file	f;

	csv(&f, "Name,Email\n"
	    "Ada,ada@example.com\n"
	    "too,many,fields\n"
	    ",nobody@example.com\n"
	    "Carla,carla@example.com\n"
	    "\"Dan,dan@example.com\nnever closed\n");
	assert_int_equal(f.nrecords, 5);
	assert_null(f.records[0].skip);
	assert_int_equal(f.records[1].line, 3);
	assert_string_equal(f.records[1].skip, "3 fields where the header "
	    "has 2");
	assert_int_equal(f.records[2].line, 4);
	assert_string_equal(f.records[2].skip, "no name");
	assert_int_equal(f.records[3].line, 5);
	assert_null(f.records[3].skip);
	assert_int_equal(f.records[4].line, 6);
	assert_non_null(strstr(f.records[4].skip, "never closed"));
	import_file_free(&f);
}

static void
test_csv_maps_crm_headers(void **state)
{
	struct import_file	f;

	csv(&f, "First Name,Last Name,Account Name,Mobile,Business Phone,"
	    "Lead Status,Description,Lead Source,Time Zone\n"
	    "Ada,Lovelace,Acme,+1 555 0100,+1 555 0199,Info Sent,hi,Web,"
	    "Europe/London\n"
	    "Bob,,Acme,+1 555 0101,,Open - Not Contacted,,,\n");
	assert_string_equal(f.columns[0].field, "name (first part)");
	assert_string_equal(f.columns[2].field, "company");
	assert_string_equal(f.columns[3].field, "phone");
	assert_null(f.columns[7].field);
	assert_string_equal(f.records[0].name, "Ada Lovelace");
	assert_string_equal(f.records[0].company, "Acme");
	/* A business phone comes before a mobile; a mobile before none. */
	assert_string_equal(f.records[0].phone, "+1 555 0199");
	assert_string_equal(f.records[1].phone, "+1 555 0101");
	assert_string_equal(f.records[0].stage, "info-sent");
	assert_string_equal(f.records[1].stage, "open-not-contacted");
	assert_string_equal(f.records[0].notes, "hi");
	assert_string_equal(f.records[0].tz, "Europe/London");
	assert_string_equal(f.records[1].name, "Bob");
	import_file_free(&f);
}

static void
test_csv_semicolons_and_windows_1252(void **state)
{
	struct import_file	f;

	/* As a German spreadsheet writes it: semicolons, Windows-1252. */
	csv(&f, "Name;Firma;Notes\r\nJ\xfcrgen M\xfcller;Acme;\x80 5\r\n");
	assert_int_equal(f.nrecords, 1);
	assert_string_equal(f.records[0].name, "J\xc3\xbcrgen M\xc3\xbcller");
	assert_string_equal(f.records[0].company, "Acme");	/* Firma */
	assert_string_equal(f.records[0].notes, "\xe2\x82\xac 5");
	assert_int_equal(f.nnotes, 2);
	import_file_free(&f);
}

static void
test_csv_refuses_no_header_utf16_and_no_name_column(void **state)
{
	struct import_file	 f;
	char			*cause = NULL;

	assert_int_equal(import_csv("\n\n", 2, &f, &cause), -1);
	assert_non_null(strstr(cause, "header"));
	free(cause);
	assert_int_equal(import_csv("\xff\xfeN\0a\0", 6, &f, &cause), -1);
	assert_non_null(strstr(cause, "UTF-16"));
	free(cause);
	assert_int_equal(import_csv("Company,Email\nAcme,a@b.c\n", 25, &f,
	    &cause), -1);
	assert_non_null(strstr(cause, "name"));
	free(cause);
}

static void
test_vcard_30_folded_lines_params_and_escapes(void **state)
{
	struct import_file	f;

	vcard(&f, "BEGIN:VCARD\r\n"
	    "VERSION:3.0\r\n"
	    "N:Lovelace;Ada;;;\r\n"
	    "FN:Ada Lovelace\r\n"
	    "ORG:Acme\\, Inc.;Sales\r\n"
	    "TEL;TYPE=HOME,VOICE:+44 20 0000\r\n"
	    "TEL;TYPE=WORK,VOICE:+44 20 7946\r\n"
	    " 0001\r\n"
	    "EMAIL;TYPE=INTERNET:ada@home.example\r\n"
	    "item1.EMAIL;TYPE=INTERNET,PREF:ada@example.com\r\n"
	    "NOTE:Met at the fair\\; wants a quote\\nCall after 3\\, not b\r\n"
	    "\tefore\r\n"
	    "TZ:-05:00\r\n"
	    "END:VCARD\r\n");
	assert_int_equal(f.nrecords, 1);
	assert_int_equal(f.records[0].line, 1);
	assert_null(f.records[0].skip);
	assert_string_equal(f.records[0].name, "Ada Lovelace");
	assert_string_equal(f.records[0].company, "Acme, Inc.");
	assert_string_equal(f.records[0].phone, "+44 20 79460001");
	assert_string_equal(f.records[0].email, "ada@example.com");
	assert_string_equal(f.records[0].notes, "Met at the fair; wants a "
	    "quote\nCall after 3, not before");
	assert_null(f.records[0].tz);
	assert_int_equal(f.nnotes, 1);
	assert_non_null(strstr(f.notes[0], "-05:00"));
	import_file_free(&f);
}

static void
test_vcard_40_and_21(void **state)
{
	struct import_file	f;

	vcard(&f, "BEGIN:VCARD\n"
	    "VERSION:4.0\n"
	    "N:Diaz;Carla;;Dr.;\n"
	    "TEL;VALUE=uri;PREF=1;TYPE=\"voice,work\":tel:+1-555-555-0100\n"
	    "EMAIL:carla@example.com\n"
	    "TZ:America/New_York\n"
	    "END:VCARD\n"
	    "BEGIN:VCARD\n"
	    "VERSION:2.1\n"
	    "FN;ENCODING=QUOTED-PRINTABLE;CHARSET=UTF-8:J=C3=BCrgen M=C3=BCller\n"
	    "NOTE;ENCODING=QUOTED-PRINTABLE:first line=0D=0Asecond =\n"
	    "line\n"
	    "TEL;WORK;VOICE:+49 30 1234\n"
	    "END:VCARD\n");
	assert_int_equal(f.nrecords, 2);
	/* No FN: the name comes from N. */
	assert_string_equal(f.records[0].name, "Dr. Carla Diaz");
	assert_string_equal(f.records[0].phone, "+1-555-555-0100");
	assert_string_equal(f.records[0].tz, "America/New_York");
	assert_int_equal(f.records[1].line, 8);
	assert_string_equal(f.records[1].name, "J\xc3\xbcrgen M\xc3\xbcller");
	assert_string_equal(f.records[1].notes, "first line\r\nsecond line");
	assert_string_equal(f.records[1].phone, "+49 30 1234");
	import_file_free(&f);
}

static void
test_vcard_without_name_or_end_is_skipped(void **state)
{
	struct import_file	 f;
	char			*cause = NULL;

	vcard(&f, "BEGIN:VCARD\nVERSION:3.0\nEMAIL:x@example.com\nEND:VCARD\n"
	    "BEGIN:VCARD\nFN:Open\n"
	    "BEGIN:VCARD\nFN:Last\n");
	assert_int_equal(f.nrecords, 3);
	assert_string_equal(f.records[0].skip, "no name (FN or N)");
	assert_int_equal(f.records[1].line, 5);
	assert_non_null(strstr(f.records[1].skip, "not closed"));
	assert_int_equal(f.records[2].line, 7);
	assert_non_null(strstr(f.records[2].skip, "not closed"));
	import_file_free(&f);
	assert_int_equal(import_vcard("hello\n", 6, &f, &cause), -1);
	assert_non_null(strstr(cause, "BEGIN:VCARD"));
	free(cause);
}

static void
test_csv_google_joined_values(void **state)
{
	struct import_file	f;

	csv(&f, "First Name,Last Name,Organization Name,Notes,"
	    "E-mail 1 - Value,Phone 1 - Value\n"
	    "Ana,Ruiz,Acme ::: Acme Iberia,hi,a@example.com ::: "
	    "b@example.com,+34 612 34 56 78 ::: +34 91 123 45 67 ::: \n");
	assert_string_equal(f.records[0].company, "Acme");
	assert_string_equal(f.records[0].email, "a@example.com");
	assert_string_equal(f.records[0].phone, "+34 612 34 56 78");
	assert_string_equal(f.records[0].notes, "hi\n"
	    "Other company: Acme Iberia\n"
	    "Other phone: +34 91 123 45 67\n"
	    "Other email: b@example.com");
	import_file_free(&f);
}

static void
test_csv_outlook_headers_in_other_languages(void **state)
{
	struct import_file	f;

	/* German, then French in capitals; Account/Konto/Compte ignored. */
	csv(&f, "\"Vorname\",\"Nachname\",\"Firma\",\"Telefon gesch\xc3\xa4"
	    "ftlich\",\"E-Mail-Adresse\",\"Konto\",\"Notizen\"\r\n"
	    "\"J\xc3\xbcrgen\",\"M\xc3\xbcller\",\"\",\"+49 221 1\","
	    "\"jm@example.de\",\"4711\",\"hi\"\r\n");
	assert_string_equal(f.records[0].name, "J\xc3\xbcrgen M\xc3\xbcller");
	assert_null(f.records[0].company);
	assert_string_equal(f.records[0].phone, "+49 221 1");
	assert_string_equal(f.records[0].email, "jm@example.de");
	assert_string_equal(f.records[0].notes, "hi");
	assert_null(f.columns[5].field);
	import_file_free(&f);
	csv(&f, "PR\xc3\x89NOM,NOM,SOCI\xc3\x89T\xc3\x89,T\xc3\x89L. MOBILE,"
	    "ADRESSE DE MESSAGERIE,COMPTE,Account\n"
	    "H\xc3\xa9l\xc3\xa8ne,Lef\xc3\xa8vre,SARL,+33 6 1,h@example.fr,"
	    "C-1,42\n");
	assert_string_equal(f.records[0].name,
	    "H\xc3\xa9l\xc3\xa8ne Lef\xc3\xa8vre");
	assert_string_equal(f.records[0].company, "SARL");
	assert_string_equal(f.records[0].phone, "+33 6 1");
	assert_string_equal(f.records[0].email, "h@example.fr");
	assert_null(f.columns[5].field);
	assert_null(f.columns[6].field);
	import_file_free(&f);
	/* Salesforce's lead report. */
	csv(&f, "\"First Name\",\"Last Name\",\"Company / Account\"\n"
	    "\"Tom\",\"Becker\",\"Fabrikam\"\n");
	assert_string_equal(f.records[0].company, "Fabrikam");
	import_file_free(&f);
}

static void
test_csv_archived_column(void **state)
{
	struct import_file	f;

	csv(&f, "Name,Archived\nA,yes\nB,no\nC,\nD,TRUE\nE,maybe\n");
	assert_int_equal(f.nrecords, 5);
	assert_int_equal(f.records[0].archived, IMPORT_ARCHIVED_YES);
	assert_int_equal(f.records[1].archived, IMPORT_ARCHIVED_NO);
	assert_int_equal(f.records[2].archived, IMPORT_ARCHIVED_UNSAID);
	assert_int_equal(f.records[3].archived, IMPORT_ARCHIVED_YES);
	assert_null(f.records[3].skip);
	assert_string_equal(f.records[4].skip,
	    "Archived is \"maybe\" (yes or no)");
	import_file_free(&f);
}

static void
test_csv_guard_quote_comes_off_once(void **state)
{
	struct import_file	f;

	/* As followup export writes text a spreadsheet would run. */
	csv(&f, "Name,Phone,Company,Notes\r\n"
	    "A,'+44 20 1,''=quoted,\"'=HYPERLINK(\"\"x\"\")\"\r\n"
	    "B,+1 5,'tis,'\r\n");
	assert_string_equal(f.records[0].phone, "+44 20 1");
	assert_string_equal(f.records[0].company, "'=quoted");
	assert_string_equal(f.records[0].notes, "=HYPERLINK(\"x\")");
	/* Quotes before anything else are the text's own. */
	assert_string_equal(f.records[1].phone, "+1 5");
	assert_string_equal(f.records[1].company, "'tis");
	assert_string_equal(f.records[1].notes, "'");
	import_file_free(&f);
}

static void
test_vcard_21_charset(void **state)
{
	struct import_file	f;

	vcard(&f, "BEGIN:VCARD\r\nVERSION:2.1\r\n"
	    "N;ENCODING=QUOTED-PRINTABLE;CHARSET=ISO-8859-1:M=FCller;J=FCrgen"
	    "\r\n"
	    "NOTE;CHARSET=\"windows-1252\";ENCODING=QUOTED-PRINTABLE:=80 5"
	    "\r\nEND:VCARD\r\n"
	    "BEGIN:VCARD\r\nVERSION:2.1\r\n"
	    "FN;ENCODING=QUOTED-PRINTABLE:Ren=E9\r\n"
	    "NOTE;ENCODING=QUOTED-PRINTABLE;CHARSET=X-NO-SUCH:abc\r\n"
	    "END:VCARD\r\n");
	assert_int_equal(f.nrecords, 2);
	assert_null(f.records[0].skip);
	assert_string_equal(f.records[0].name, "J\xc3\xbcrgen M\xc3\xbcller");
	assert_string_equal(f.records[0].notes, "\xe2\x82\xac 5");
	/* No charset and not UTF-8: read as Windows-1252, and said so. */
	assert_string_equal(f.records[1].name, "Ren\xc3\xa9");
	assert_null(f.records[1].notes);
	assert_int_equal(f.nnotes, 2);
	assert_non_null(strstr(f.notes[0], "Windows-1252"));
	assert_non_null(strstr(f.notes[1], "X-NO-SUCH"));
	import_file_free(&f);
}

static void
test_guess_format(void **state)
{
	assert_int_equal(import_guess("a.VCF", "x", 1), IMPORT_VCARD);
	assert_int_equal(import_guess("a.csv", "BEGIN:VCARD", 11),
	    IMPORT_CSV);
	assert_int_equal(import_guess("-", "\xef\xbb\xbf\nbegin:vcard\n", 16),
	    IMPORT_VCARD);
	assert_int_equal(import_guess("contacts", "Name,Email\n", 11),
	    IMPORT_CSV);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csv_quoted_commas_quotes_and_line_breaks),
		cmocka_unit_test(test_csv_bom_and_crlf),
		cmocka_unit_test(test_csv_bad_rows_keep_their_lines),
		cmocka_unit_test(test_csv_maps_crm_headers),
		cmocka_unit_test(test_csv_semicolons_and_windows_1252),
		cmocka_unit_test(
		    test_csv_refuses_no_header_utf16_and_no_name_column),
		cmocka_unit_test(test_vcard_30_folded_lines_params_and_escapes),
		cmocka_unit_test(test_vcard_40_and_21),
		cmocka_unit_test(test_vcard_without_name_or_end_is_skipped),
		cmocka_unit_test(test_csv_google_joined_values),
		cmocka_unit_test(test_csv_outlook_headers_in_other_languages),
		cmocka_unit_test(test_csv_archived_column),
		cmocka_unit_test(test_csv_guard_quote_comes_off_once),
		cmocka_unit_test(test_vcard_21_charset),
		cmocka_unit_test(test_guess_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
