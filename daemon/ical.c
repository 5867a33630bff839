/* SPDX-License-Identifier: ISC */
/*
 * Copyright (c) 2026 The followup authors
 *
 * Calendar objects built with libical: the VEVENT of a follow-up, which
 * the ics export streams one by one under a published calendar's head,
 * and the iTIP (RFC 5546) invitation, that VEVENT under a METHOD, which a
 * confirmation to a contact carries (and an invitation to the rep can
 * carry later).  The
 * time goes out in UTC, which every calendar reads without a VTIMEZONE;
 * the zones the people live in are the text's business.
 */

#include <config.h>

#include <stdlib.h>
#include <string.h>

#include <libical/ical.h>

#include "followupd.h"

/* How long the event lasts in a calendar: a call. */
#define ICAL_EVENT_MINUTES	15

/* The UID of follow-up id in database dbid, as the ics export gives it. */
char *
ical_uid(int64_t id, const char *dbid)
{
	char	*uid;

	xasprintf(&uid, "followup-%lld-%s@followupd", (long long)id, dbid);
	return uid;
}

static icalproperty *
ical_person(icalproperty *p, const char *name)
{
	if (name != NULL && *name != '\0')
		icalproperty_add_parameter(p, icalparameter_new_cn(name));
	return p;
}

/*
 * Text as libical should get it: libical drops a lone CR, which is a line
 * break to whoever typed it, so it becomes a LF.  Caller frees.
 */
static char *
ical_text(const char *text)
{
	char	*s, *p;

	s = xstrdup(text);
	for (p = s; *p != '\0'; p++)
		if (*p == '\r' && p[1] != '\n')
			*p = '\n';
	return s;
}

static void
ical_add_text(icalcomponent *c, icalproperty *(*make)(const char *),
    const char *text)
{
	char	*s;

	if (text == NULL)
		return;
	s = ical_text(text);
	icalcomponent_add_property(c, make(s));
	free(s);
}

static struct icaltimetype
ical_time(time_t t)
{
	return icaltime_from_timet_with_zone(t, 0,
	    icaltimezone_get_utc_timezone());
}

/*
 * The VEVENT of a follow-up, the one both the ics export and an
 * invitation carry, so a calendar sees the same UID, SEQUENCE, time,
 * summary and alarm whichever way the event reached it: UID, SEQUENCE,
 * DTSTAMP, DTSTART in UTC, a call's DURATION, SUMMARY, DESCRIPTION,
 * CATEGORIES, STATUS (CANCELLED or CONFIRMED), CREATED, LAST-MODIFIED
 * (when known) and, unless cancelled, a display alarm ev->alarm seconds
 * ahead when that is not negative.
 */
static icalcomponent *
ical_event_new(const struct ical_event *e)
{
	icalcomponent		*ev, *alarm;
	struct icaldurationtype	 d;

	ev = icalcomponent_new(ICAL_VEVENT_COMPONENT);
	icalcomponent_add_property(ev, icalproperty_new_uid(e->uid));
	icalcomponent_add_property(ev, icalproperty_new_dtstamp(
	    ical_time(e->now)));
	icalcomponent_add_property(ev, icalproperty_new_dtstart(
	    ical_time(e->start)));
	d = icaldurationtype_null_duration();
	d.minutes = ICAL_EVENT_MINUTES;
	icalcomponent_add_property(ev, icalproperty_new_duration(d));
	ical_add_text(ev, icalproperty_new_summary, e->summary);
	ical_add_text(ev, icalproperty_new_description, e->description);
	ical_add_text(ev, icalproperty_new_categories, e->category);
	icalcomponent_add_property(ev, icalproperty_new_sequence(
	    e->sequence));
	icalcomponent_add_property(ev, icalproperty_new_status(e->cancelled ?
	    ICAL_STATUS_CANCELLED : ICAL_STATUS_CONFIRMED));
	if (e->created != 0)
		icalcomponent_add_property(ev, icalproperty_new_created(
		    ical_time(e->created)));
	if (e->modified != 0)
		icalcomponent_add_property(ev,
		    icalproperty_new_lastmodified(ical_time(e->modified)));
	if (!e->cancelled && e->alarm >= 0) {
		alarm = icalcomponent_new(ICAL_VALARM_COMPONENT);
		icalcomponent_add_property(alarm, icalproperty_new_action(
		    ICAL_ACTION_DISPLAY));
		icalcomponent_add_property(alarm, icalproperty_new_trigger(
		    icaltriggertype_from_int(-(int)e->alarm)));
		ical_add_text(alarm, icalproperty_new_description, e->summary);
		icalcomponent_add_component(ev, alarm);
	}
	return ev;
}

/* Component c as text, c freed.  Caller frees. */
static char *
ical_string(icalcomponent *c)
{
	char	*s;

	/* The _r form hands the string over: no ring buffer left behind. */
	if ((s = icalcomponent_as_ical_string_r(c)) == NULL)
		fatalx("ical: cannot write a calendar object");
	icalcomponent_free(c);
	return s;
}

/* The text of event e, a VEVENT, CRLF-ended and folded.  Caller frees. */
char *
ical_event(const struct ical_event *e)
{
	return ical_string(ical_event_new(e));
}

/* A VCALENDAR of ours under METHOD method, without components yet. */
static icalcomponent *
ical_calendar_new(icalproperty_method method)
{
	icalcomponent	*cal;

	cal = icalcomponent_new(ICAL_VCALENDAR_COMPONENT);
	icalcomponent_add_property(cal, icalproperty_new_version("2.0"));
	icalcomponent_add_property(cal, icalproperty_new_prodid(
	    "-//followup//followupd " PACKAGE_VERSION "//EN"));
	icalcomponent_add_property(cal, icalproperty_new_calscale(
	    "GREGORIAN"));
	icalcomponent_add_property(cal, icalproperty_new_method(method));
	return cal;
}

/*
 * The head of a published calendar (METHOD PUBLISH) titled name, up to
 * its first component: the ics export streams its events after it, then
 * ical_calendar_end's tail, so it never holds the whole calendar.
 * Caller frees.
 */
char *
ical_calendar_begin(const char *name)
{
	icalcomponent	*cal;
	icalproperty	*p;
	char		*s, *line;
	size_t		 len, n;

	cal = ical_calendar_new(ICAL_METHOD_PUBLISH);
	p = icalproperty_new_x(name);
	icalproperty_set_x_name(p, "X-WR-CALNAME");
	icalcomponent_add_property(cal, p);
	s = xstrdup("BEGIN:VCALENDAR\r\n");
	len = strlen(s);
	for (p = icalcomponent_get_first_property(cal, ICAL_ANY_PROPERTY);
	    p != NULL;
	    p = icalcomponent_get_next_property(cal, ICAL_ANY_PROPERTY)) {
		if ((line = icalproperty_as_ical_string_r(p)) == NULL)
			fatalx("ical: cannot write the calendar's head");
		n = strlen(line);
		s = xreallocarray(s, len + n + 1, 1);
		memcpy(s + len, line, n + 1);
		len += n;
		free(line);
	}
	icalcomponent_free(cal);
	return s;
}

/* The tail of a calendar ical_calendar_begin began. */
const char *
ical_calendar_end(void)
{
	return "END:VCALENDAR\r\n";
}

/*
 * The VCALENDAR of invitation inv: METHOD inv->method (REQUEST or
 * CANCEL), one VEVENT as ical_event_new makes it (cancelled for CANCEL)
 * with ORGANIZER and ATTENDEE added.  Caller frees.
 */
char *
ical_invite(const struct ical_invite *inv)
{
	struct ical_event	 e;
	icalcomponent		*cal, *ev;
	icalproperty		*p;
	char			*mailto;
	int			 cancel = strcmp(inv->method, "CANCEL") == 0;

	cal = ical_calendar_new(cancel ? ICAL_METHOD_CANCEL :
	    ICAL_METHOD_REQUEST);
	memset(&e, 0, sizeof e);
	e.uid = inv->uid;
	e.sequence = inv->sequence;
	e.start = inv->start;
	e.summary = inv->summary;
	e.description = inv->description;
	e.cancelled = cancel;
	e.alarm = inv->alarm;
	e.now = inv->now;
	ev = ical_event_new(&e);
	xasprintf(&mailto, "mailto:%s", inv->organizer_email);
	icalcomponent_add_property(ev, ical_person(
	    icalproperty_new_organizer(mailto), inv->organizer_name));
	free(mailto);
	xasprintf(&mailto, "mailto:%s", inv->attendee_email);
	p = ical_person(icalproperty_new_attendee(mailto),
	    inv->attendee_name);
	free(mailto);
	icalproperty_add_parameter(p, icalparameter_new_role(
	    ICAL_ROLE_REQPARTICIPANT));
	icalproperty_add_parameter(p, icalparameter_new_partstat(
	    ICAL_PARTSTAT_NEEDSACTION));
	icalcomponent_add_property(ev, p);
	icalcomponent_add_component(cal, ev);
	return ical_string(cal);
}
