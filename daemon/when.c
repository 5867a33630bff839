/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * Time: date expressions to UTC instants in a given zone (gnulib
 * parse-datetime with time_rz, never touching the process's TZ), local
 * calendar days, and the RFC 3339 form replies carry.
 */

#include <config.h>

#include <ctype.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "parse-datetime.h"

#include "followupd.h"

/* Longest date expression we try to read. */
#define WHEN_EXPR_MAX	256

/*
 * The instants a date may name: replies write RFC 3339 with a four-digit
 * year, and 0 stands for "unset" (1970-01-01 00:00:01 to 9999-12-31
 * 23:59:59 UTC).
 */
#define WHEN_MIN	((time_t)1)
#define WHEN_MAX	((time_t)253402300799LL)

/* Directory of the zone database. */
static const char *
when_tzdir(void)
{
	const char	*dir = getenv("TZDIR");

	return (dir != NULL && *dir == '/') ? dir : "/usr/share/zoneinfo";
}

static int	when_zone_check(const char *);

/*
 * gnulib's time_rz works by setting TZ and calling tzset around each
 * call, and the zone cache below is shared: with the report's thread
 * beside the loop, one zone computation runs at a time, whichever thread
 * asks.  Recursive, since the public functions call each other.  Each
 * public function that reads a zone takes it; so does anything else that
 * reads the process's zone (localtime_r).
 */
static pthread_mutex_t when_mutex = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;

/* Take the zone lock (see when_mutex). */
void
when_lock(void)
{
	if (pthread_mutex_lock(&when_mutex) != 0)
		fatalx("when: pthread_mutex_lock");
}

void
when_unlock(void)
{
	pthread_mutex_unlock(&when_mutex);
}

/*
 * getenv(name) under the zone lock: time_rz sets and unsets TZ, which
 * may move the other variables of the environment, from whichever thread
 * works out a zone.  Borrowed.
 */
const char *
when_getenv(const char *name)
{
	const char	*v;

	when_lock();
	v = getenv(name);
	when_unlock();
	return v;
}

/*
 * Is name a zone of the system's zone database (an IANA name such as
 * "Europe/Berlin" or "UTC")?  POSIX TZ strings are not accepted: a rep
 * means a place, and a typo must not silently become UTC.
 */
static int
when_zone_valid_tz(const char *name)
{
	/* Zones already checked: a request names the same few again. */
	static char	 known[16][64];
	static int	 next;
	int		 i, valid;

	for (i = 0; i < 16; i++) {
		if (known[i][0] != '\0' && name != NULL &&
		    strcmp(known[i], name) == 0)
			return 1;
	}
	valid = when_zone_check(name);
	if (valid && strlen(name) < sizeof known[0]) {
		snprintf(known[next], sizeof known[next], "%s", name);
		next = (next + 1) % 16;
	}
	return valid;
}

int
when_zone_valid(const char *name)
{
	int	 r;

	when_lock();
	r = when_zone_valid_tz(name);
	when_unlock();
	return r;
}

/* Look in the zone database: is name a zone file? */
static int
when_zone_check(const char *name)
{
	char		 path[4096], magic[4];
	struct stat	 sb;
	const char	*p;
	FILE		*f;
	int		 n;

	if (name == NULL || *name == '\0' || *name == '/' ||
	    strlen(name) > 100 || strstr(name, "..") != NULL)
		return 0;
	for (p = name; *p != '\0'; p++) {
		if (!isalnum((unsigned char)*p) && strchr("/_+-", *p) == NULL)
			return 0;
	}
	n = snprintf(path, sizeof path, "%s/%s", when_tzdir(), name);
	if (n < 0 || (size_t)n >= sizeof path)
		return 0;
	if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
		return 0;
	/* A zone file, not another file of the directory (leapseconds). */
	if ((f = fopen(path, "rb")) == NULL)
		return 0;
	n = fread(magic, 1, sizeof magic, f) == sizeof magic &&
	    memcmp(magic, "TZif", 4) == 0;
	fclose(f);
	return n;
}

/* UTC offset in seconds of zone tz at instant t. */
static long
when_offset(timezone_t tz, time_t t)
{
	struct tm	tm;

	if (localtime_rz(tz, &t, &tm) == NULL)
		return 0;
	return tm.tm_gmtoff;
}

/*
 * If wall (a local wall-clock time written as if it were UTC) falls in a
 * gap where the clocks jumped forward, set *out to the first instant after
 * the gap and return 1; return 0 if that local time exists.
 */
static int
when_gap(timezone_t tz, time_t wall, time_t *out)
{
	long	before, after;
	time_t	lo, hi, mid;

	before = when_offset(tz, wall - 86400);
	after = when_offset(tz, wall + 86400);
	if (wall - before + when_offset(tz, wall - before) == wall ||
	    wall - after + when_offset(tz, wall - after) == wall)
		return 0;
	if (after <= before)
		return 0;
	/* The jump happens between these two instants. */
	lo = wall - after;
	hi = wall - before;
	while (hi - lo > 1) {
		mid = lo + (hi - lo) / 2;
		if (when_offset(tz, mid) == after)
			hi = mid;
		else
			lo = mid;
	}
	*out = hi;
	return 1;
}

/*
 * Does the expression name an exact instant (a zone or offset of its own,
 * "@seconds") or a duration from now ("in 90 minutes")?  Then it is taken
 * as it is; only wall-clock expressions ("tomorrow 02:30") are subject to
 * the daylight-saving rules.
 */
static int
when_not_wall_clock(const char *p)
{
	static const char *const words[] = {
		"hour", "minute", "min", "sec", "utc", "gmt", "tz=", NULL
	};
	const char	*q;
	size_t		 len = strlen(p), i;

	if (*p == '@')
		return 1;
	for (i = 0; words[i] != NULL; i++) {
		for (q = p; (q = strcasestr(q, words[i])) != NULL; q++) {
			if (q == p || !isalpha((unsigned char)q[-1]))
				return 1;
		}
	}
	while (len > 0 && isspace((unsigned char)p[len - 1]))
		len--;
	/* 2026-11-24T10:00:00Z, ...+01:00, ...-0500 */
	if (len > 1 && (p[len - 1] == 'Z' || p[len - 1] == 'z') &&
	    isdigit((unsigned char)p[len - 2]))
		return 1;
	for (i = len; i > 0 && (isdigit((unsigned char)p[i - 1]) ||
	    p[i - 1] == ':'); i--)
		;
	if (i > 0 && i < len && (p[i - 1] == '+' || p[i - 1] == '-') &&
	    i > 1 && isdigit((unsigned char)p[i - 2]) && len - i >= 4)
		return 1;
	return 0;
}

/* Check a TZ="..." at the start of an expression names a real zone. */
static int
when_check_inner_zone(const char *p, char **cause)
{
	const char	*end;
	char		 name[128];

	if (strncasecmp(p, "TZ=\"", 4) != 0)
		return 0;
	p += 4;
	if ((end = strchr(p, '"')) == NULL || (size_t)(end - p) >= sizeof name) {
		xasprintf(cause, "unterminated TZ=\"...\" in the date");
		return -1;
	}
	memcpy(name, p, end - p);
	name[end - p] = '\0';
	if (!when_zone_valid(name)) {
		xasprintf(cause, "unknown time zone \"%s\" (use a name such "
		    "as Europe/London)", name);
		return -1;
	}
	return 0;
}

/*
 * Read p if it is exactly an RFC 3339 UTC stamp as replies write it,
 * "2026-11-24T10:00:00Z", naming a valid date and time within the years
 * 1970 to 9999, into *out.  Return 1 if so, else 0 (then the full parser
 * decides, with its own messages).  Clients send such stamps on most
 * requests, and the full parser costs the daemon more than storing the
 * follow-up; the instant is the same whatever the zone.
 */
static int
when_parse_stamp(const char *p, time_t *out)
{
	static const int	 mdays[] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};
	static const char	 shape[] = "dddd-dd-ddTdd:dd:ddZ";
	int			 y, mo, d, h, mi, sec, leap, dim;
	long long		 era, yoe, doy, doe, days;
	size_t			 i;

	for (i = 0; shape[i] != '\0'; i++) {
		if (shape[i] == 'd' ? !isdigit((unsigned char)p[i]) :
		    p[i] != shape[i])
			return 0;
	}
	if (p[i] != '\0')
		return 0;
#define WHEN_DIGITS2(q)	(((q)[0] - '0') * 10 + ((q)[1] - '0'))
	y = WHEN_DIGITS2(p) * 100 + WHEN_DIGITS2(p + 2);
	mo = WHEN_DIGITS2(p + 5);
	d = WHEN_DIGITS2(p + 8);
	h = WHEN_DIGITS2(p + 11);
	mi = WHEN_DIGITS2(p + 14);
	sec = WHEN_DIGITS2(p + 17);
#undef WHEN_DIGITS2
	if (y < 1970 || mo < 1 || mo > 12 || h > 23 || mi > 59 || sec > 59)
		return 0;
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	dim = mdays[mo - 1] + (mo == 2 && leap);
	if (d < 1 || d > dim)
		return 0;
	/* Days since 1970-01-01 in the proleptic Gregorian calendar. */
	era = (mo <= 2 ? y - 1 : y) / 400;
	yoe = (mo <= 2 ? y - 1 : y) - era * 400;
	doy = (153 * (mo > 2 ? mo - 3 : mo + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	days = era * 146097 + doe - 719468;
	*out = (time_t)(days * 86400 + h * 3600 + mi * 60 + sec);
	return *out >= WHEN_MIN && *out <= WHEN_MAX;
}

/*
 * Read a date expression.
 *
 * expr is anything date -d understands ("tomorrow 10:00", "fri 16:00",
 * "2026-11-24 14:30", RFC 3339, TZ="Europe/London" tue 10:00), or the same
 * with a leading "in" ("in 3 days").  Local times are read in zone tzname
 * (an IANA name; NULL or "" means UTC), relative ones from now.  A local
 * wall-clock time that does not exist (clocks jumped forward) becomes the
 * first valid instant after it and *note says so; a repeated one (clocks
 * went back) becomes the first of the two.  Exact instants and durations
 * ("in 90 minutes") are taken as they are.  A time before 1970-01-01
 * 00:00:01 or after 9999-12-31 23:59:59 UTC is refused.
 *
 * Return 0 and set *out, and *note (NULL, or a message the caller frees);
 * or -1 and set *cause (caller frees).
 */
static int
when_parse_tz(const char *expr, const char *tzname, time_t now, time_t *out,
    char **note, char **cause)
{
	struct timespec	 base, ts;
	timezone_t	 tz = NULL, utc = NULL;
	const char	*p = expr;
	char		 stamp[64];
	struct tm	 tm;
	time_t		 wall = 0, t = 0, earlier, gap;
	long		 off, prev;
	int		 ok, have_wall = 0, rc = -1;

	*note = NULL;
	*cause = NULL;
	if (tzname == NULL || *tzname == '\0')
		tzname = "UTC";
	if (strlen(expr) > WHEN_EXPR_MAX) {
		xasprintf(cause, "date expression too long (over %d bytes)",
		    WHEN_EXPR_MAX);
		return -1;
	}
	while (isspace((unsigned char)*p))
		p++;
	if (strncasecmp(p, "in", 2) == 0 && isspace((unsigned char)p[2]))
		p += 3;
	if (*p == '\0') {
		xasprintf(cause, "empty date expression");
		return -1;
	}
	if (!when_zone_valid(tzname)) {
		xasprintf(cause, "unknown time zone \"%s\"", tzname);
		return -1;
	}
	/* A zone counting leap seconds reads even a UTC stamp its way. */
	if (strncmp(tzname, "right/", 6) != 0 && when_parse_stamp(p, out))
		return 0;
	if ((tz = tzalloc(tzname)) == NULL) {
		xasprintf(cause, "unknown time zone \"%s\"", tzname);
		return -1;
	}
	if (when_check_inner_zone(p, cause) != 0)
		goto out;

	base.tv_sec = now;
	base.tv_nsec = 0;
	ok = parse_datetime2(&ts, p, &base, 0, tz, tzname);
	t = ts.tv_sec;

	/* The same words as wall-clock time: UTC, with now shifted to local. */
	if (!when_not_wall_clock(p) && (utc = tzalloc("UTC0")) != NULL) {
		base.tv_sec = now + when_offset(tz, now);
		if (parse_datetime2(&ts, p, &base, 0, utc, "UTC0") &&
		    ts.tv_sec >= WHEN_MIN - 2 * 86400 &&
		    ts.tv_sec <= WHEN_MAX + 2 * 86400) {
			wall = ts.tv_sec;
			have_wall = 1;
		}
	}
	if (have_wall && ok && t + when_offset(tz, t) == wall) {
		/* The repeated hour: prefer the earlier of two instants. */
		off = when_offset(tz, t);
		prev = when_offset(tz, t - 86400);
		if (prev > off) {
			earlier = t - (prev - off);
			if (earlier + when_offset(tz, earlier) == wall)
				t = earlier;
		}
	} else if (have_wall && when_gap(tz, wall, &gap)) {
		/* A local time the clocks skip: the first one after it. */
		t = gap;
		ok = 1;
		gmtime_r(&wall, &tm);
		strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M", &tm);
		gap += when_offset(tz, gap);
		gmtime_r(&gap, &tm);
		xasprintf(note, "%s does not exist in %s (the clocks go "
		    "forward); using %02d:%02d, the first time after it", stamp,
		    tzname, tm.tm_hour, tm.tm_min);
	}
	if (!ok) {
		xasprintf(cause, "cannot read \"%s\" as a date and time", expr);
		goto out;
	}
	if (t < WHEN_MIN || t > WHEN_MAX) {
		free(*note);
		*note = NULL;
		xasprintf(cause, "\"%s\" is outside the years 1970 to 9999",
		    expr);
		goto out;
	}
	*out = t;
	rc = 0;
out:
	if (utc != NULL)
		tzfree(utc);
	tzfree(tz);
	return rc;
}

int
when_parse(const char *expr, const char *tzname, time_t now, time_t *out,
    char **note, char **cause)
{
	int	 r;

	when_lock();
	r = when_parse_tz(expr, tzname, now, out, note, cause);
	when_unlock();
	return r;
}

/*
 * Set *out to the start of the local calendar day that holds t, moved by
 * days whole days (in calendar terms: across a daylight-saving change a day
 * has 23 or 25 hours).  Return 0, or -1 for an unknown zone.
 */
static int
when_day_start_tz(time_t t, const char *tzname, int days, time_t *out)
{
	timezone_t	tz;
	struct tm	tm;
	time_t		r;

	if (tzname == NULL || *tzname == '\0')
		tzname = "UTC";
	if (!when_zone_valid(tzname) || (tz = tzalloc(tzname)) == NULL)
		return -1;
	if (localtime_rz(tz, &t, &tm) == NULL) {
		tzfree(tz);
		return -1;
	}
	tm.tm_mday += days;
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	tm.tm_isdst = -1;
	r = mktime_z(tz, &tm);
	if (r == (time_t)-1) {
		tzfree(tz);
		return -1;
	}
	tzfree(tz);
	*out = r;
	return 0;
}

int
when_day_start(time_t t, const char *tzname, int days, time_t *out)
{
	int	 r;

	when_lock();
	r = when_day_start_tz(t, tzname, days, out);
	when_unlock();
	return r;
}

/* Write n as width digits at p. */
static void
when_digits(char *p, int n, int width)
{
	while (width-- > 0) {
		p[width] = '0' + n % 10;
		n /= 10;
	}
}

/*
 * Write t as RFC 3339 UTC ("2026-11-24T10:00:00Z") and return its
 * length; 0 if it does not fit in len bytes with its NUL (buf then
 * holds an empty string, if len is not 0).  By hand: a reply carries
 * several times a row, and strftime, which consults the locale for each,
 * was a good part of a read's cost.
 */
size_t
when_format(time_t t, char *buf, size_t len)
{
	struct tm		 tm;
	static const char	 shape[] = "0000-00-00T00:00:00Z";
	int64_t			 days, secs, era, doe, yoe, doy, mp, y, m, d;

	/*
	 * The civil date of a day count, without gmtime_r (which takes the
	 * zone lock each time): H. Hinnant's days_to_civil, exact over the
	 * whole proleptic Gregorian calendar.
	 */
	days = (int64_t)t / 86400;
	secs = (int64_t)t % 86400;
	if (secs < 0) {
		secs += 86400;
		days--;
	}
	days += 719468;
	era = (days >= 0 ? days : days - 146096) / 146097;
	doe = days - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	y = yoe + era * 400 + (m <= 2);
	if (len < sizeof shape || y < 0 || y > 9999) {
		if (len == 0)
			return 0;
		gmtime_r(&t, &tm);
		if (strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
			buf[0] = '\0';
		return strlen(buf);
	}
	memcpy(buf, shape, sizeof shape);
	when_digits(buf, (int)y, 4);
	when_digits(buf + 5, (int)m, 2);
	when_digits(buf + 8, (int)d, 2);
	when_digits(buf + 11, (int)(secs / 3600), 2);
	when_digits(buf + 14, (int)(secs / 60 % 60), 2);
	when_digits(buf + 17, (int)(secs % 60), 2);
	return sizeof shape - 1;
}

/* t as a JSON string in RFC 3339 UTC. */
json_t *
when_json(time_t t)
{
	char	buf[WHEN_RFC3339_LEN];

	when_format(t, buf, sizeof buf);
	/* ASCII made here: nothing for Jansson to check. */
	return json_string_nocheck(buf);
}

/* t as RFC 3339, or JSON null when t is 0 (unset). */
json_t *
when_json_or_null(time_t t)
{
	return t == 0 ? json_null() : when_json(t);
}

/*
 * The daemon's own zone, used for a caller who set none: $TZ if it names
 * a zone, else the target of /etc/localtime, else UTC.  Borrowed.
 */
static const char *
when_local_zone_tz(void)
{
	static char	 zone[256];
	const char	*tz, *p;
	char		 link[4096];
	ssize_t		 n;

	if (zone[0] != '\0')
		return zone;
	snprintf(zone, sizeof zone, "UTC");
	if ((tz = getenv("TZ")) != NULL) {
		if (*tz == ':')
			tz++;
		if (when_zone_valid(tz))
			snprintf(zone, sizeof zone, "%s", tz);
		return zone;
	}
	n = readlink("/etc/localtime", link, sizeof link - 1);
	if (n > 0) {
		link[n] = '\0';
		if ((p = strstr(link, "zoneinfo/")) != NULL &&
		    when_zone_valid(p + 9))
			snprintf(zone, sizeof zone, "%s", p + 9);
	}
	return zone;
}

const char *
when_local_zone(void)
{
	const char *r;

	when_lock();
	r = when_local_zone_tz();
	when_unlock();
	return r;
}

/*
 * The instant of local wall-clock time minute (after midnight) on the day
 * that starts at day, in zone; a time skipped by the clocks moves on to
 * the first valid one.  Return 0 for an unknown zone.
 */
static time_t
when_local_on_day_tz(time_t day, const char *zone, int minute)
{
	timezone_t	tz;
	struct tm	tm;
	time_t		r;

	if (zone == NULL || *zone == '\0')
		zone = "UTC";
	if ((tz = tzalloc(zone)) == NULL)
		return 0;
	if (localtime_rz(tz, &day, &tm) == NULL) {
		tzfree(tz);
		return 0;
	}
	tm.tm_hour = minute / 60;
	tm.tm_min = minute % 60;
	tm.tm_sec = 0;
	tm.tm_isdst = -1;
	r = mktime_z(tz, &tm);
	tzfree(tz);
	return r == (time_t)-1 ? 0 : r;
}

time_t
when_local_on_day(time_t day, const char *zone, int minute)
{
	time_t	 r;

	when_lock();
	r = when_local_on_day_tz(day, zone, minute);
	when_unlock();
	return r;
}

/*
 * Write t as local to zone (UTC if zone is unusable): the date, or with
 * clock set, the day, time and zone abbreviation.  The abbreviation lives
 * in the zone object, so the text is made before it is freed.
 */
static void
when_local_text_tz(time_t t, const char *zone, int clock, char *buf, size_t len)
{
	timezone_t	tz = NULL;
	struct tm	tm;

	if (zone == NULL || *zone == '\0' || (tz = tzalloc(zone)) == NULL ||
	    localtime_rz(tz, &t, &tm) == NULL)
		gmtime_r(&t, &tm);
	if (clock)
		strftime(buf, len, "%a %d %b %H:%M %Z", &tm);
	else
		strftime(buf, len, "%Y-%m-%d", &tm);
	if (tz != NULL)
		tzfree(tz);
}

static void
when_local_text(time_t t, const char *zone, int clock, char *buf, size_t len)
{
	when_lock();
	when_local_text_tz(t, zone, clock, buf, len);
	when_unlock();
}

/* Write the local date of t in zone as YYYY-MM-DD. */
void
when_local_date(time_t t, const char *zone, char *buf, size_t len)
{
	when_local_text(t, zone, 0, buf, len);
}

/* Write t as people read it in zone: "Sat 24 Oct 08:00 CEST". */
void
when_local_time(time_t t, const char *zone, char *buf, size_t len)
{
	when_local_text(t, zone, 1, buf, len);
}

/*
 * Write t for a reader in zone about a contact in theirs: when the two
 * zones show it differently, the contact's time first, then the
 * reader's, "Tue 03 Nov 10:00 EST (16:00 CET yours)", the reader's day
 * named when it is another ("(Wed 00:00 JST yours)"); else as
 * when_local_time does in zone.  A NULL or unknown theirs is the
 * reader's.
 */
static void
when_local_time_dual_tz(time_t t, const char *zone, const char *theirs,
    char *buf, size_t len)
{
	timezone_t	 mine = NULL, there = NULL;
	struct tm	 m, th;
	char		 a[64], b[48];

	if (zone == NULL || *zone == '\0')
		zone = "UTC";
	if (theirs == NULL || *theirs == '\0' ||
	    (mine = tzalloc(zone)) == NULL ||
	    (there = tzalloc(theirs)) == NULL ||
	    localtime_rz(mine, &t, &m) == NULL ||
	    localtime_rz(there, &t, &th) == NULL ||
	    m.tm_gmtoff == th.tm_gmtoff) {
		when_local_time(t, zone, buf, len);
		goto out;
	}
	strftime(a, sizeof a, "%a %d %b %H:%M %Z", &th);
	if (m.tm_year == th.tm_year && m.tm_yday == th.tm_yday)
		strftime(b, sizeof b, "%H:%M %Z", &m);
	else
		strftime(b, sizeof b, "%a %H:%M %Z", &m);
	snprintf(buf, len, "%s (%s yours)", a, b);
out:
	if (there != NULL)
		tzfree(there);
	if (mine != NULL)
		tzfree(mine);
}

void
when_local_time_dual(time_t t, const char *zone, const char *theirs,
    char *buf, size_t len)
{
	when_lock();
	when_local_time_dual_tz(t, zone, theirs, buf, len);
	when_unlock();
}
